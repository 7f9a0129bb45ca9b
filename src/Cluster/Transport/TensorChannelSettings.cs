using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Distributed.Cluster.Transport;

/// <summary>
/// Bounds on the tensor channel, so that no peer (slow, stuck or hostile) can hold a node's connections, threads or
/// memory: how long to connect, to finish the TLS handshake, to wait for the next bytes of a transfer and for the
/// next request on an idle connection, how many connections to serve at once, and TCP keep-alive to notice a peer
/// that vanished without closing. Filled from Cluster:TensorChannel:* (DISTRIBUTED_CLUSTER__TENSORCHANNEL__*).
/// </summary>
public sealed record TensorChannelSettings
{
    public static TensorChannelSettings Default { get; } = new();

    /// <summary>A TCP connect to a live node on a LAN takes milliseconds; 10 s covers a loaded machine.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A mutual TLS handshake is a few round trips and two signatures.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest wait for the next bytes of a request, header or tensor, in either direction. Bytes move in 1 MiB
    /// chunks, each with this bound, so a 150 MB transfer on a slow link is fine and a stalled one fails in seconds.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the server keeps a connection that sends no request (peers pool connections between steps).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Connections served at once; more are closed on accept. A cluster needs about two per peer.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>TCP keep-alive probes after this much silence (then every 5 s): a peer that vanished is noticed by the OS.</summary>
    public TimeSpan KeepAliveTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reads the "TensorChannel" section under "Cluster"; a bad value is reported with its key and value.</summary>
    public static TensorChannelSettings From(IConfiguration section, TensorChannelSettings defaults) => (defaults with
    {
        ConnectTimeout = Seconds(section, "ConnectTimeoutSeconds") ?? defaults.ConnectTimeout,
        HandshakeTimeout = Seconds(section, "HandshakeTimeoutSeconds") ?? defaults.HandshakeTimeout,
        ReadTimeout = Seconds(section, "ReadTimeoutSeconds") ?? defaults.ReadTimeout,
        IdleTimeout = Seconds(section, "IdleTimeoutSeconds") ?? defaults.IdleTimeout,
        KeepAliveTime = Seconds(section, "KeepAliveSeconds") ?? defaults.KeepAliveTime,
        MaxConnections = Count(section, "MaxConnections") ?? defaults.MaxConnections,
    }).EnsureValid();

    public TensorChannelSettings EnsureValid()
    {
        foreach (var (name, value) in new[] { ("ConnectTimeoutSeconds", ConnectTimeout), ("HandshakeTimeoutSeconds", HandshakeTimeout),
                     ("ReadTimeoutSeconds", ReadTimeout), ("IdleTimeoutSeconds", IdleTimeout), ("KeepAliveSeconds", KeepAliveTime) })
        {
            if (value <= TimeSpan.Zero) throw new ArgumentException($"Cluster:TensorChannel:{name} ({value.TotalSeconds}) must be positive");
        }
        if (MaxConnections < 1) throw new ArgumentException($"Cluster:TensorChannel:MaxConnections ({MaxConnections}) must be at least 1");
        return this;
    }

    private static TimeSpan? Seconds(IConfiguration section, string key)
    {
        var text = section[key]?.Trim();
        if (string.IsNullOrEmpty(text)) return null;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && double.IsFinite(seconds)
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"Cluster:TensorChannel:{key} '{text}' is not a positive number of seconds");
    }

    private static int? Count(IConfiguration section, string key)
    {
        var text = section[key]?.Trim();
        if (string.IsNullOrEmpty(text)) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 1
            ? count
            : throw new ArgumentException($"Cluster:TensorChannel:{key} '{text}' is not a whole number of at least 1");
    }
}
