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
                var id = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
                var held = _parked.TryRemove(id, out var parked);
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), held ? Found : NotHeld);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), held ? (long)parked!.Data.Length * sizeof(float) : 0);
                await WithinAsync(t => stream.WriteAsync(header, t), _settings.ReadTimeout, token, () => "answering a request");
                if (held)
                {
                    try
                    {
                        // A peer that stops reading cannot hold this handler: each chunk must go out within the read timeout.
                        using var bytes = new PinnedBytes(parked!.Data);
                        var memory = bytes.Memory;
                        for (var offset = 0; offset < memory.Length; offset += Chunk)
                        {
                            var chunk = memory.Slice(offset, Math.Min(Chunk, memory.Length - offset));
                            await WithinAsync(t => stream.WriteAsync(chunk, t), _settings.ReadTimeout, token, () => "sending a tensor");
                        }
                    }
                    finally
                    {
                        // Sent or not, the write is over and this tensor can never be served again.
                        Recycle(parked!);
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
            if (Stopwatch.GetElapsedTime(parked.Since, now) > _unclaimedLifetime && _parked.TryRemove(id, out var expired)) Recycle(expired);
        }
    }

    private void Recycle(Parked parked)
    {
        if (parked.Recycle) _buffers.Return(parked.Data);
    }
}
