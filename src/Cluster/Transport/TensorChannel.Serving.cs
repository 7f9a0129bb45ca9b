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

// The serving side of the channel: accepting peers (within the connection cap), answering fetches of parked
// tensors, and sweeping tensors nobody claimed.
public sealed partial class TensorChannel
{
    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            // Over the cap: close at once, so no peer can pile up connections (each holds a socket and a task).
            if (Interlocked.Increment(ref _connections) > _settings.MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                client.Dispose();
                continue;
            }
            var serving = ServeAsync(client);
            _serving.TryAdd(serving, 0);
            _ = serving.ContinueWith(done => _serving.TryRemove(done, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var token = _stopping.Token;
        try
        {
            client.NoDelay = true;
            KeepAlive(client.Client);
            Stream stream = client.GetStream();
            if (_tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await WithinAsync(t => ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = tls.Certificate,
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = tls.Validate,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, t), _settings.HandshakeTimeout, token, () => "in a TLS handshake with a peer");
                stream = ssl;
            }
            await using var __ = stream;
            var header = new byte[HeaderSize];
            while (!token.IsCancellationRequested)
            {
                try
                {
                    // A peer that connects and never speaks, or leaves a pooled connection unused, is let go after the idle timeout.
                    await WithinAsync(t => stream.ReadExactlyAsync(header, t), _settings.IdleTimeout, token, () => "waiting for a request");
                }
                catch (EndOfStreamException)
                {
                    return; // the peer closed its pooled connection
                }
                if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic) return;
                var kind = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
                var id = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
                long start = 0, count = -1;
                if (kind == RangeRequest)
                {
                    var range = new byte[RangeSize];
                    await WithinAsync(t => stream.ReadExactlyAsync(range, t), _settings.ReadTimeout, token, () => "reading a range request");
                    start = BinaryPrimitives.ReadInt64LittleEndian(range);
                    count = BinaryPrimitives.ReadInt64LittleEndian(range.AsSpan(8));
                }
                else if (kind != WholeRequest) return; // a foreign protocol: drop the connection
                _parked.TryGetValue(id, out var parked);
                // A range outside the tensor is refused without using up a serving: the peer's request was wrong, not served.
                var length = parked?.Data.Length ?? 0;
                var outside = parked is not null && kind == RangeRequest && (start < 0 || count < 0 || start + count > length);
                var last = false;
                var held = parked is not null && !outside && parked.TryClaim(out last);
                if (last) _parked.TryRemove(id, out var served);
                if (kind == WholeRequest) count = length;
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), outside ? BadRange : held ? Found : NotHeld);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), outside ? (long)length * sizeof(float) : held ? count * sizeof(float) : 0);
                await WithinAsync(t => stream.WriteAsync(header, t), _settings.ReadTimeout, token, () => "answering a request");
                if (held)
                {
                    try
                    {
                        // A peer that stops reading cannot hold this handler: each chunk must go out within the read timeout.
                        using var bytes = new PinnedBytes(parked!.Data);
                        var memory = bytes.Memory.Slice((int)(start * sizeof(float)), (int)(count * sizeof(float)));
                        for (var offset = 0; offset < memory.Length; offset += Chunk)
                        {
                            var chunk = memory.Slice(offset, Math.Min(Chunk, memory.Length - offset));
                            await WithinAsync(t => stream.WriteAsync(chunk, t), _settings.ReadTimeout, token, () => "sending a tensor");
                            Interlocked.Add(ref _bytesSent, chunk.Length);
                        }
                    }
                    finally
                    {
                        // Sent or not, this write is over; the array is recycled once no serving is left and no other write runs.
                        if (parked!.WriteDone()) Recycle(parked);
                    }
                }
                await WithinAsync(t => stream.FlushAsync(t), _settings.ReadTimeout, token, () => "sending a tensor");
            }
        }
        catch (Exception error) when (error is IOException or SocketException or OperationCanceledException
            or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            // A peer that fails the TLS handshake, times out, vanishes mid-transfer or is cut off at shutdown: its fetch fails on its side.
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    private void Sweep()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var (id, parked) in _parked)
        {
            if (parked.Expires && Stopwatch.GetElapsedTime(parked.Since, now) > _unclaimedLifetime && _parked.TryRemove(id, out var expired)
                && expired.Withdraw()) Recycle(expired);
        }
    }

    private void Recycle(Parked parked)
    {
        if (parked.Recycle) _buffers.Return(parked.Data);
    }
}
