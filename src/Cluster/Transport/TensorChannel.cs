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
/// Wire format, little-endian: request [magic u32][0 u32][id i64]; answer [magic u32][status i32][bytes i64] then the bytes.
/// </summary>
public sealed partial class TensorChannel : IAsyncDisposable
{
    private const uint Magic = 0x31435444; // "DTC1"
    private const int HeaderSize = 16;
    private const int Found = 0;
    private const int NotHeld = 1;
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
    /// Parks <paramref name="data"/> (by reference: do not modify it afterwards) until one peer fetches it. With
    /// <paramref name="recycle"/>, the channel owns the array and returns it to its buffer pool once it has been
    /// sent, released or has expired.
    /// </summary>
    public TensorHandle Publish(float[] data, bool recycle = false)
    {
        long id;
        do id = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(sizeof(long)));
        while (id == 0 || !_parked.TryAdd(id, new Parked(data, Stopwatch.GetTimestamp(), recycle)));
        return new TensorHandle(AdvertisedHost, Port, id, data.Length);
    }

    /// <summary>Drops a parked tensor that will not be fetched (its message could not be sent).</summary>
    public void Release(TensorHandle handle)
    {
        if (_parked.TryRemove(handle.Id, out var parked)) Recycle(parked);
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
                var result = await ExchangeAsync(connection, handle, token);
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

    private async Task<float[]> ExchangeAsync(Connection connection, TensorHandle handle, CancellationToken token)
    {
        var stream = connection.Stream;
        var peer = $"{handle.Host}:{handle.Port}";
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), handle.Id);
        await WithinAsync(t => stream.WriteAsync(header, t), _settings.ReadTimeout, token, () => $"sending the request for tensor {handle.Id:x16} to {peer}");
        await WithinAsync(t => stream.FlushAsync(t), _settings.ReadTimeout, token, () => $"sending the request for tensor {handle.Id:x16} to {peer}");
        await WithinAsync(t => stream.ReadExactlyAsync(header, t), _settings.ReadTimeout, token, () => $"waiting for {peer} to answer for tensor {handle.Id:x16}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            throw new IOException($"tensor channel {handle.Host}:{handle.Port} answered with a foreign protocol");
        var status = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
        var length = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        if (status == NotHeld)
            throw new TensorTransferException($"tensor {handle.Id:x16} is no longer held by {handle.Host}:{handle.Port} (already fetched or expired)");
        if (status != Found || length != (long)handle.Length * sizeof(float))
            throw new IOException($"tensor channel {handle.Host}:{handle.Port} announced {length} bytes (status {status}), the handle says {(long)handle.Length * sizeof(float)}");
        var result = _buffers.Rent(handle.Length);
        // Not returned to the pool on failure: the array is left to the collector rather than reasoning about a read cut short.
        using (var bytes = new PinnedBytes(result))
        {
            var memory = bytes.Memory;
            for (var offset = 0; offset < memory.Length; offset += Chunk)
            {
                var chunk = memory.Slice(offset, Math.Min(Chunk, memory.Length - offset));
                await WithinAsync(t => stream.ReadExactlyAsync(chunk, t), _settings.ReadTimeout, token,
                    () => $"receiving tensor {handle.Id:x16} from {peer} (stalled after {offset} of {memory.Length} bytes)");
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

    private sealed record Parked(float[] Data, long Since, bool Recycle);

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
