namespace Distributed.Cluster;

/// <summary>
/// Whether a node may listen where it is configured to. Without TLS, anyone who reaches the cluster port can join
/// as a worker and send crafted gradients, and tensor handles travel in clear text; that is acceptable on loopback
/// only. Anywhere else the node refuses to start unless the operator says, explicitly, that the network is theirs
/// (Cluster:AllowInsecure, `--insecure`), and then it says so on every start.
/// </summary>
public static class InsecureBinding
{
    /// <summary>Throws when the node would listen on a non-loopback address in clear text without the operator's explicit consent.</summary>
    public static void EnsureAllowed(ClusterSettings settings)
    {
        if (!IsInsecure(settings) || settings.AllowInsecure) return;
        throw new ArgumentException($"Cluster:Hostname '{settings.Hostname}' is not a loopback address and TLS is off (Cluster:Tls:Enabled): " +
            "any host that reaches this port could join the cluster and send it gradients. Turn on mutual TLS (docs/cluster.md, Mutual TLS), " +
            "or, on a network only you can reach, pass --insecure (Cluster:AllowInsecure=true, DISTRIBUTED_CLUSTER__ALLOWINSECURE=true)");
    }

    /// <summary>The warning to print at start when the operator allowed an insecure binding; null when there is nothing to warn about.</summary>
    public static string? Warning(ClusterSettings settings) => IsInsecure(settings) && settings.AllowInsecure
        ? $"INSECURE: listening on {settings.Hostname} without TLS (--insecure / Cluster:AllowInsecure): any host that reaches " +
          "this node can join the cluster, send it gradients and read tensors in transit. Use only on a network nobody else can reach."
        : null;

    private static bool IsInsecure(ClusterSettings settings) => !settings.Tls.Enabled && !ClusterSettings.IsLoopback(settings.Hostname);
}
