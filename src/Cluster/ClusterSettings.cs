using System.Globalization;
using System.Net;
using Distributed.Cluster.Transport;
using Microsoft.Extensions.Configuration;

namespace Distributed.Cluster;

/// <summary>
/// How one node takes part in the cluster: where it listens, what it tells others, whom it joins, and how
/// fast it gives up on a silent peer. Filled from the "Cluster" section of appsettings.json and from
/// DISTRIBUTED_CLUSTER__* environment variables (see docs/cluster.md); every value has a safe default that
/// keeps the node on loopback.
/// </summary>
public sealed record ClusterSettings
{
    public const string SystemName = "distributed";
    public const int DefaultCoordinatorPort = 4053;

    /// <summary>Address Akka.Remote and the tensor channel bind to. Loopback unless configured.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Akka.Remote port; 0 picks a free one (fine for workers, whom the coordinator learns by gossip).</summary>
    public int Port { get; init; }

    /// <summary>Address other nodes use to reach this one (e.g. a container's service name); defaults to <see cref="Hostname"/>.</summary>
    public string? PublicHostname { get; init; }

    /// <summary>Cluster seed nodes as host:port or full akka.tcp:// addresses. Empty: this node seeds itself.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>Port of this node's tensor channel (raw TCP for weights and gradients); 0 picks a free one.</summary>
    public int TensorPort { get; init; }

    /// <summary>Akka.Cluster heartbeat period. With <see cref="AcceptableHeartbeatPause"/> it bounds how fast a SIGKILLed peer is noticed.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Silence tolerated before a peer is unreachable. Tensors do not share the Akka connection, so heartbeats are
    /// never stuck behind them; 4 s absorbs the multi-second stalls measured on an overloaded two-core machine
    /// (JIT and libtorch start-up) while a SIGKILLed node is still noticed in about 5 s.
    /// </summary>
    public TimeSpan AcceptableHeartbeatPause { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>How long the membership must be stable before the split brain resolver downs the unreachable side.</summary>
    public TimeSpan DowningStableAfter { get; init; } = TimeSpan.FromSeconds(5);

    public TlsSettings Tls { get; init; } = new();

    /// <summary>Timeouts, keep-alive and the connection cap of the node's tensor channel (Cluster:TensorChannel:*).</summary>
    public TensorChannelSettings TensorChannel { get; init; } = TensorChannelSettings.Default;

    /// <summary>
    /// The operator's explicit consent to listen on a non-loopback address without TLS (`--insecure`); refused
    /// otherwise, see <see cref="InsecureBinding"/>.
    /// </summary>
    public bool AllowInsecure { get; init; }

    /// <summary>
    /// Coordinator only: how many server nodes (`distributed-worker --role server`) hold the parameter-server ranges;
    /// 0 (the default) keeps them on the coordinator's node. The run waits until that many have registered.
    /// </summary>
    public int ServerNodes { get; init; }

    /// <summary>Most server nodes a coordinator waits for (as many as <c>--ps-shards</c> can have ranges).</summary>
    public const int MaxServerNodes = 64;

    public string AdvertisedHostname => string.IsNullOrWhiteSpace(PublicHostname) ? Hostname : PublicHostname;

    /// <summary>Akka's protocol name: TLS nodes speak akka.ssl.tcp, and only to each other.</summary>
    public string Protocol => Tls.Enabled ? "akka.ssl.tcp" : "akka.tcp";

    /// <summary>Seed nodes as Akka addresses; a node without seeds joins itself (the coordinator).</summary>
    public IReadOnlyList<string> SeedAddresses(int ownPort) => SeedNodes.Count == 0
        ? [$"{Protocol}://{SystemName}@{AdvertisedHostname}:{ownPort}"]
        : SeedNodes.Select(seed => seed.Contains("://", StringComparison.Ordinal) ? seed : $"{Protocol}://{SystemName}@{seed}").ToList();

    /// <summary>Reads the "Cluster" section; a bad value is reported with its key and value.</summary>
    public static ClusterSettings From(IConfiguration configuration, ClusterSettings defaults)
    {
        var section = configuration.GetSection("Cluster");
        var settings = defaults with
        {
            Hostname = Text(section, "Hostname") ?? defaults.Hostname,
            Port = PortNumber(section, "Port") ?? defaults.Port,
            PublicHostname = Text(section, "PublicHostname") ?? defaults.PublicHostname,
            SeedNodes = List(section, "SeedNodes") ?? defaults.SeedNodes,
            TensorPort = PortNumber(section, "TensorPort") ?? defaults.TensorPort,
            HeartbeatInterval = Seconds(section, "HeartbeatIntervalSeconds") ?? defaults.HeartbeatInterval,
            AcceptableHeartbeatPause = Seconds(section, "AcceptableHeartbeatPauseSeconds") ?? defaults.AcceptableHeartbeatPause,
            DowningStableAfter = Seconds(section, "DowningStableAfterSeconds") ?? defaults.DowningStableAfter,
            Tls = TlsSettings.From(section.GetSection("Tls"), defaults.Tls),
            AllowInsecure = Flag(section, "AllowInsecure") ?? defaults.AllowInsecure,
            TensorChannel = TensorChannelSettings.From(section.GetSection("TensorChannel"), defaults.TensorChannel),
            ServerNodes = Count(section, "ServerNodes") ?? defaults.ServerNodes,
        };
        return settings.EnsureValid();
    }

    public ClusterSettings EnsureValid()
    {
        if (string.IsNullOrWhiteSpace(Hostname)) throw new ArgumentException("Cluster:Hostname must not be empty");
        foreach (var seed in SeedNodes)
        {
            var endpoint = seed.Contains('@') ? seed[(seed.LastIndexOf('@') + 1)..] : seed;
            var colon = endpoint.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                throw new ArgumentException($"Cluster:SeedNodes entry '{seed}' is not host:port (or {Protocol}://{SystemName}@host:port)");
            if (seed.Contains("://", StringComparison.Ordinal) && !seed.StartsWith(Protocol + "://", StringComparison.Ordinal))
                throw new ArgumentException($"Cluster:SeedNodes entry '{seed}' does not use {Protocol}, the protocol of this node (TLS {(Tls.Enabled ? "on" : "off")})");
        }
        if (HeartbeatInterval <= TimeSpan.Zero || AcceptableHeartbeatPause < HeartbeatInterval)
            throw new ArgumentException($"Cluster:AcceptableHeartbeatPauseSeconds ({AcceptableHeartbeatPause.TotalSeconds}) must be at least Cluster:HeartbeatIntervalSeconds ({HeartbeatInterval.TotalSeconds}) and both positive");
        if (ServerNodes is < 0 or > MaxServerNodes)
            throw new ArgumentException($"Cluster:ServerNodes ({ServerNodes}) must be between 0 and {MaxServerNodes}");
        if (DowningStableAfter < TimeSpan.FromSeconds(1))
            throw new ArgumentException($"Cluster:DowningStableAfterSeconds ({DowningStableAfter.TotalSeconds}) must be at least 1");
        Tls.EnsureValid();
        InsecureBinding.EnsureAllowed(this);
        return this;
    }

    internal static string? Text(IConfiguration section, string key) =>
        section[key] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static int? PortNumber(IConfiguration section, string key)
    {
        var text = Text(section, key);
        if (text is null) return null;
        return int.TryParse(text, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535
            ? port
            : throw new ArgumentException($"Cluster:{key} '{text}' is not a port number (0-65535)");
    }

    private static int? Count(IConfiguration section, string key)
    {
        var text = Text(section, key);
        if (text is null) return null;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count)
            ? count
            : throw new ArgumentException($"Cluster:{key} '{text}' is not a whole number");
    }

    internal static bool? Flag(IConfiguration section, string key)
    {
        var text = Text(section, key);
        if (text is null) return null;
        return bool.TryParse(text, out var value) ? value : throw new ArgumentException($"Cluster:{key} '{text}' is not true or false");
    }

    private static TimeSpan? Seconds(IConfiguration section, string key)
    {
        var text = Text(section, key);
        if (text is null) return null;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && double.IsFinite(seconds)
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"Cluster:{key} '{text}' is not a positive number of seconds");
    }

    /// <summary>A list either as indexed children (SeedNodes:0, SeedNodes:1) or as one comma-separated value (handy in env vars).</summary>
    private static IReadOnlyList<string>? List(IConfiguration section, string key)
    {
        var child = section.GetSection(key);
        var indexed = child.GetChildren().Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!.Trim()).ToList();
        if (indexed.Count > 0) return indexed;
        return Text(section, key)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>True when <paramref name="host"/> is a loopback address or name.</summary>
    public static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
}

/// <summary>Mutual TLS for Akka.Remote and the tensor channel. Off unless <see cref="Enabled"/>.</summary>
public sealed record TlsSettings
{
    public bool Enabled { get; init; }

    /// <summary>PKCS#12 (.pfx) file with this node's certificate and private key.</summary>
    public string? CertificatePath { get; init; }

    public string? CertificatePassword { get; init; }

    /// <summary>
    /// PEM file of the cluster's certificate authority: a peer is accepted when its certificate chains to it.
    /// Without it, every node must present the very same certificate as this node (one shared certificate).
    /// </summary>
    public string? AuthorityPath { get; init; }

    public static TlsSettings From(IConfiguration section, TlsSettings defaults)
    {
        var enabledText = ClusterSettings.Text(section, "Enabled");
        bool? enabled = enabledText is null ? null
            : bool.TryParse(enabledText, out var value) ? value
            : throw new ArgumentException($"Cluster:Tls:Enabled '{enabledText}' is not true or false");
        return defaults with
        {
            Enabled = enabled ?? defaults.Enabled,
            CertificatePath = ClusterSettings.Text(section, "CertificatePath") ?? defaults.CertificatePath,
            CertificatePassword = section["CertificatePassword"] ?? defaults.CertificatePassword,
            AuthorityPath = ClusterSettings.Text(section, "AuthorityPath") ?? defaults.AuthorityPath,
        };
    }

    public void EnsureValid()
    {
        if (!Enabled) return;
        if (CertificatePath is null) throw new ArgumentException("Cluster:Tls:Enabled is true but Cluster:Tls:CertificatePath is not set");
        if (!File.Exists(CertificatePath)) throw new ArgumentException($"Cluster:Tls:CertificatePath '{CertificatePath}' does not exist");
        if (AuthorityPath is not null && !File.Exists(AuthorityPath)) throw new ArgumentException($"Cluster:Tls:AuthorityPath '{AuthorityPath}' does not exist");
    }
}
