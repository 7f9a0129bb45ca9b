using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Distributed.Protocol;

namespace Distributed.Cluster.Transport;

/// <summary>
/// The side channel that moves weights and gradients between nodes: one TCP listener per node, on the node's
/// configured address. A sender parks a float array here (<see cref="Publish"/>) and puts the returned
/// <see cref="TensorHandle"/> in a small Akka message; the receiver pulls the bytes with <see cref="FetchAsync"/>.
/// Each handle is served once, then forgotten; handles nobody claims expire. Arrays go to and from the socket
/// in place (pinned, no staging copy), so a transfer costs what a plain socket copy costs, and a 150 MB tensor
/// never sits in front of Akka.Remote's heartbeats. With TLS on, every connection is mutually authenticated
/// with the cluster certificate, as Akka.Remote is; without it, the listener stays on the node's own address
/// and a handle's 64-bit random id is the only thing that names a tensor.
/// Every wait is bounded (<see cref="TensorChannelSettings"/>): connect, TLS handshake, each chunk of a transfer, an
/// idle connection, the number of connections served; a fetch checks the handle's length against what the caller
/// expects before it connects. A bound that trips is a <see cref="TensorTransferException"/>, which the actors turn into
/// a failed shard that the coordinator reassigns.
/// A tensor may be published for several readers (<c>servings</c>), and a reader may fetch only elements
/// [start, start + count) of it (<see cref="FetchRangeAsync"/>): that is how K parameter servers each pull their range of
/// one worker's gradient, and how workers pull each server's range of the weights.
/// Wire format, little-endian: request [magic u32][0 u32][id i64] for the whole tensor, or [magic u32][1 u32][id i64]
/// [start i64][count i64] for a range; answer [magic u32][status i32][bytes i64] then the bytes (for a range the
/// served tensor refuses, status 2 and the tensor's whole length in bytes).
/// </summary>
public sealed partial class TensorChannel : IAsyncDisposable
{
    private const uint Magic = 0x31435444; // "DTC1"
    private const int HeaderSize = 16;
    private const int RangeSize = 16;
    private const uint WholeRequest = 0;
    private const uint RangeRequest = 1;
    private const int Found = 0;
    private const int NotHeld = 1;
    private const int BadRange = 2;

    /// <summary><c>servings</c> for a tensor served to any number of readers until <see cref="Release"/> (it never expires).</summary>
    public const int UntilReleased = int.MaxValue;
    /// <summary>Tensor bytes move in chunks of this size, each under the read timeout.</summary>
    private const int Chunk = 1 << 20;

    private readonly ConcurrentDictionary<long, Parked> _parked = new();
    private readonly ConcurrentDictionary<string, ConcurrentBag<Connection>> _idle = new();
    private readonly ConcurrentDictionary<Task, byte> _serving = new();
    private readonly TcpListener _listener;
    private readonly ClusterTls? _tls;
    private readonly TensorBufferPool _buffers;
    private readonly TimeSpan _unclaimedLifetime;
    private readonly TensorChannelSettings _settings;
    private int _connections;
    private long _bytesSent;
    private long _bytesReceived;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private readonly Timer _sweeper;

    private TensorChannel(TcpListener listener, string advertisedHost, ClusterTls? tls, TimeSpan unclaimedLifetime, TensorBufferPool buffers,
        TensorChannelSettings settings)
    {
        _settings = settings;
        _listener = listener;
        _tls = tls;
        _buffers = buffers;
        _unclaimedLifetime = unclaimedLifetime;
        AdvertisedHost = advertisedHost;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
        var sweepEvery = unclaimedLifetime / 4;
        _sweeper = new Timer(_ => Sweep(), null, sweepEvery, sweepEvery);
    }

    /// <summary>Host and port that handles name; peers connect there.</summary>
    public string AdvertisedHost { get; }
    public int Port { get; }

    /// <summary>The pool fetched tensors are rented from: return them here when done with them.</summary>
    public TensorBufferPool Buffers => _buffers;

    /// <summary>Connections this node serves right now.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>Tensors parked and not yet fetched.</summary>
    public int ParkedCount => _parked.Count;

    /// <summary>Tensor bytes this node has served to peers since it started (payload only, not headers).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Tensor bytes this node has fetched from peers since it started (payload only, not headers).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Listens on <paramref name="bindHost"/>:<paramref name="port"/> (0: a free port).</summary>
    /// <param name="buffers">Where fetched tensors are rented and recycled ones returned; <see cref="TensorBufferPool.Shared"/> by default.</param>
    /// <param name="settings">Timeouts, keep-alive and the connection cap; <see cref="TensorChannelSettings.Default"/> by default.</param>
    public static TensorChannel Start(string bindHost, int port, string advertisedHost, ClusterTls? tls, TimeSpan? unclaimedLifetime = null,
        TensorBufferPool? buffers = null, TensorChannelSettings? settings = null)
    {
        var address = ResolveBindAddress(bindHost);
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
        }
        catch (SocketException error)
        {
            throw new ArgumentException($"tensor channel cannot listen on {bindHost}:{port}: {error.Message} (Cluster:Hostname / Cluster:TensorPort)");
        }
        return new TensorChannel(listener, advertisedHost, tls, unclaimedLifetime ?? TimeSpan.FromMinutes(2), buffers ?? TensorBufferPool.Shared,
            (settings ?? TensorChannelSettings.Default).EnsureValid());
    }

    /// <summary>
    /// Parks <paramref name="data"/> (by reference: do not modify it afterwards) until <paramref name="servings"/>
    /// fetches (whole or ranged) have claimed it; with <see cref="UntilReleased"/>, until <see cref="Release"/>, and it
    /// never expires. With <paramref name="recycle"/>, the channel owns the array and returns it to its buffer pool
    /// once its last serving has been sent, or it is released or has expired, whichever is last.
    /// </summary>
    public TensorHandle Publish(float[] data, bool recycle = false, int servings = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(servings);
        long id;
        do id = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(sizeof(long)));
        while (id == 0 || !_parked.TryAdd(id, new Parked(data, Stopwatch.GetTimestamp(), recycle, servings)));
        return new TensorHandle(AdvertisedHost, Port, id, data.Length);
    }

    /// <summary>Drops a parked tensor that will not be fetched (its message could not be sent, or a newer one replaces it).</summary>
    public void Release(TensorHandle handle)
    {
        if (_parked.TryRemove(handle.Id, out var parked) && parked.Withdraw()) Recycle(parked);
    }

    /// <summary>
    /// Pulls the tensor a handle names from its node into an array rented from the channel's buffer pool (return it
    /// when done with it, or let it be collected). Fails if the node is gone or no longer holds it, if the handle's
    /// length is not <paramref name="expectedLength"/> (checked before anything is connected or rented), or if the
    /// transfer stalls.
    /// </summary>
    /// <param name="expectedLength">The length the caller knows the tensor must have (the model's state length); never the handle's own claim.</param>
    public async Task<float[]> FetchAsync(TensorHandle handle, int expectedLength, CancellationToken cancellationToken = default)
    {
        if (handle.Length != expectedLength || expectedLength < 0)
            throw new TensorTransferException($"tensor handle {handle.Id:x16} from {handle.Host}:{handle.Port} announces {handle.Length} floats, expected {expectedLength}: refused");
        return await FetchAsync(handle, null, cancellationToken);
    }

    /// <summary>
    /// Pulls elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of the tensor a
    /// handle names into an array of <paramref name="count"/> rented from the channel's buffer pool. The handle's length
    /// must be <paramref name="expectedLength"/> and the range must lie inside it (both checked before anything is
    /// connected or rented, <see cref="TensorHandleCheck.RangeProblem"/>); the serving node checks the range again
    /// against what it holds. A ranged fetch uses up one serving of the tensor, as a whole one does.
    /// </summary>
    public async Task<float[]> FetchRangeAsync(TensorHandle handle, int start, int count, int expectedLength, CancellationToken cancellationToken = default)
    {
        if (TensorHandleCheck.RangeProblem(handle, start, count, expectedLength) is { } problem) throw new TensorTransferException(problem);
        return await FetchAsync(handle, (start, count), cancellationToken);
    }

    private async Task<float[]> FetchAsync(TensorHandle handle, (int Start, int Count)? range, CancellationToken cancellationToken)
    {
        var endpoint = $"{handle.Host}:{handle.Port}";
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var token = linked.Token;
        // A pooled connection may have been closed by the peer since its last use: then retry once on a fresh one.
        for (var attempt = 0; ; attempt++)
        {
            var pooled = TakeIdle(endpoint);
            var connection = pooled ?? await ConnectAsync(handle.Host, handle.Port, token);
            try
            {
                var result = await ExchangeAsync(connection, handle, range, token);
                ReturnIdle(endpoint, connection);
                return result;
            }
            catch (Exception error) when (pooled is not null && attempt == 0 && error is (IOException and not TensorTransferException) or SocketException)
            {
                connection.Dispose();
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
    }

    private async Task<float[]> ExchangeAsync(Connection connection, TensorHandle handle, (int Start, int Count)? range, CancellationToken token)
    {
        var stream = connection.Stream;
        var peer = $"{handle.Host}:{handle.Port}";
        var request = new byte[range is null ? HeaderSize : HeaderSize + RangeSize];
        BinaryPrimitives.WriteUInt32LittleEndian(request, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(4), range is null ? WholeRequest : RangeRequest);
        BinaryPrimitives.WriteInt64LittleEndian(request.AsSpan(8), handle.Id);
        if (range is { } asked)
        {
            BinaryPrimitives.WriteInt64LittleEndian(request.AsSpan(HeaderSize), asked.Start);
            BinaryPrimitives.WriteInt64LittleEndian(request.AsSpan(HeaderSize + 8), asked.Count);
        }
        var count = range?.Count ?? handle.Length;
        var header = new byte[HeaderSize];
        await WithinAsync(t => stream.WriteAsync(request, t), _settings.ReadTimeout, token, () => $"sending the request for tensor {handle.Id:x16} to {peer}");
        await WithinAsync(t => stream.FlushAsync(t), _settings.ReadTimeout, token, () => $"sending the request for tensor {handle.Id:x16} to {peer}");
        await WithinAsync(t => stream.ReadExactlyAsync(header, t), _settings.ReadTimeout, token, () => $"waiting for {peer} to answer for tensor {handle.Id:x16}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            throw new IOException($"tensor channel {handle.Host}:{handle.Port} answered with a foreign protocol");
        var status = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
        var length = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        if (status == NotHeld)
            throw new TensorTransferException($"tensor {handle.Id:x16} is no longer held by {handle.Host}:{handle.Port} (already fetched or expired)");
        if (status == BadRange && range is { } refused)
            throw new TensorTransferException($"tensor {handle.Id:x16} at {handle.Host}:{handle.Port} holds {length / sizeof(float)} floats, " +
                $"so it has no elements [{refused.Start}, {(long)refused.Start + refused.Count}): refused by its node");
        if (status != Found || length != (long)count * sizeof(float))
            throw new IOException($"tensor channel {handle.Host}:{handle.Port} announced {length} bytes (status {status}), the request asked for {(long)count * sizeof(float)}");
        var result = _buffers.Rent(count);
        // Not returned to the pool on failure: the array is left to the collector rather than reasoning about a read cut short.
        using (var bytes = new PinnedBytes(result))
        {
            var memory = bytes.Memory;
            for (var offset = 0; offset < memory.Length; offset += Chunk)
            {
                var chunk = memory.Slice(offset, Math.Min(Chunk, memory.Length - offset));
                await WithinAsync(t => stream.ReadExactlyAsync(chunk, t), _settings.ReadTimeout, token,
                    () => $"receiving tensor {handle.Id:x16} from {peer} (stalled after {offset} of {memory.Length} bytes)");
                Interlocked.Add(ref _bytesReceived, chunk.Length);
            }
        }
        return result;
    }

    /// <summary>
    /// One I/O step under a time limit. A limit that trips (not the caller's cancellation) becomes a
    /// <see cref="TensorTransferException"/> naming what stalled and the setting that bounds it.
    /// </summary>
    private static async Task WithinAsync(Func<CancellationToken, ValueTask> io, TimeSpan limit, CancellationToken token, Func<string> what)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(limit);
        try
        {
            await io(timeout.Token);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new TensorTransferException($"tensor channel timed out after {limit.TotalSeconds:G} s {what()} (Cluster:TensorChannel)");
        }
    }

    private static async Task WithinAsync(Func<CancellationToken, Task> io, TimeSpan limit, CancellationToken token, Func<string> what) =>
        await WithinAsync(t => new ValueTask(io(t)), limit, token, what);

    private void KeepAlive(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, Math.Max(1, (int)_settings.KeepAliveTime.TotalSeconds));
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 5);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
    }

    private async Task<Connection> ConnectAsync(string host, int port, CancellationToken token)
    {
        var client = new TcpClient { NoDelay = true };
        try
        {
            KeepAlive(client.Client);
            await WithinAsync(t => client.ConnectAsync(host, port, t), _settings.ConnectTimeout, token, () => $"connecting to {host}:{port}");
            Stream stream = client.GetStream();
            if (_tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await WithinAsync(t => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = host,
                    ClientCertificates = new X509CertificateCollection { tls.Certificate },
                    RemoteCertificateValidationCallback = tls.Validate,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, t), _settings.HandshakeTimeout, token, () => $"in the TLS handshake with {host}:{port}");
                stream = ssl;
            }
            return new Connection(client, stream);
        }
        catch (Exception error) when (error is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            client.Dispose();
            throw error as TensorTransferException ?? new TensorTransferException($"cannot reach the tensor channel at {host}:{port}: {error.Message}", error);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private Connection? TakeIdle(string endpoint) =>
        _idle.TryGetValue(endpoint, out var bag) && bag.TryTake(out var connection) ? connection : null;

    private void ReturnIdle(string endpoint, Connection connection)
    {
        if (_stopping.IsCancellationRequested)
        {
            connection.Dispose();
            return;
        }
        _idle.GetOrAdd(endpoint, _ => new ConcurrentBag<Connection>()).Add(connection);
    }

    private static IPAddress ResolveBindAddress(string host)
    {
        if (IPAddress.TryParse(host, out var address)) return address;
        if (host == "localhost") return IPAddress.Loopback;
        var resolved = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
        return resolved ?? throw new ArgumentException($"Cluster:Hostname '{host}' does not resolve to an IPv4 address");
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        await _sweeper.DisposeAsync();
        _listener.Stop();
        await _acceptLoop;
        foreach (var bag in _idle.Values)
        {
            while (bag.TryTake(out var connection)) connection.Dispose();
        }
        try
        {
            await Task.WhenAll(_serving.Keys).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // A handler stuck in a send to a dead peer; the process is going anyway.
        }
        _parked.Clear();
        _stopping.Dispose();
    }

    /// <summary>
    /// A tensor waiting to be fetched, with the servings it has left and the writes of it in progress. The array is
    /// recycled (if it is the channel's) only when it can be served no more and no write of it is still going on, so
    /// a reader of one range never sees it reused under another reader's write.
    /// </summary>
    private sealed class Parked(float[] data, long since, bool recycle, int servings)
    {
        private readonly object _gate = new();
        private int _servings = servings;
        private int _writing;
        private bool _withdrawn;

        public float[] Data { get; } = data;
        public long Since { get; } = since;
        public bool Recycle { get; } = recycle;
        public bool Expires { get; } = servings != UntilReleased;

        /// <summary>Takes one serving and starts a write; false when none is left. <paramref name="last"/>: it was the last one.</summary>
        public bool TryClaim(out bool last)
        {
            lock (_gate)
            {
                last = false;
                if (_withdrawn || _servings == 0) return false;
                if (_servings != UntilReleased && --_servings == 0)
                {
                    _withdrawn = true;
                    last = true;
                }
                _writing++;
                return true;
            }
        }

        /// <summary>A write is over; true when the array may now be recycled (no serving left, no other write).</summary>
        public bool WriteDone()
        {
            lock (_gate) return --_writing == 0 && _withdrawn;
        }

        /// <summary>No further serving (released or expired); true when the array may now be recycled.</summary>
        public bool Withdraw()
        {
            lock (_gate)
            {
                if (_withdrawn) return false;
                _withdrawn = true;
                _servings = 0;
                return _writing == 0;
            }
        }
    }

    private sealed class Connection(TcpClient client, Stream stream) : IDisposable
    {
        public Stream Stream { get; } = stream;

        public void Dispose()
        {
            Stream.Dispose();
            client.Dispose();
        }
    }
}

/// <summary>A tensor could not be fetched: its node is unreachable or no longer holds it.</summary>
public sealed class TensorTransferException(string message, Exception? inner = null) : IOException(message, inner);
