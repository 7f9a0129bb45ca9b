using Distributed.Cluster;

namespace Distributed.Worker.Hosting;

/// <summary>
/// What a `distributed-worker` process is: a worker (computes shards), a server node (holds parameter-server ranges,
/// `--server-nodes` on the coordinator), or both on one node. Parsed from `--role` / `Worker:Role`.
/// </summary>
public sealed record NodeRoles(bool Worker, bool Server)
{
    public static NodeRoles WorkerOnly { get; } = new(true, false);

    /// <summary>The roles as Akka.Cluster takes them (comma-separated).</summary>
    public string Akka => string.Join(",", new[] { Worker ? ClusterRoles.Worker : null, Server ? ClusterRoles.Server : null }.OfType<string>());

    /// <summary>"worker", "server" or both comma-separated, in any order; anything else is refused naming the value.</summary>
    public static NodeRoles Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return WorkerOnly;
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = parts.Where(p => p != ClusterRoles.Worker && p != ClusterRoles.Server).ToArray();
        if (unknown.Length > 0 || parts.Length == 0)
            throw new ArgumentException($"Worker:Role (--role) '{text}' must be worker, server, or worker,server");
        return new NodeRoles(parts.Contains(ClusterRoles.Worker), parts.Contains(ClusterRoles.Server));
    }
}
