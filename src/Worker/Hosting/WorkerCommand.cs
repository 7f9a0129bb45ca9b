using System.CommandLine;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.Worker.Faults;
using Microsoft.Extensions.Configuration;

namespace Distributed.Worker.Hosting;

/// <summary>`distributed-worker`: join a cluster and compute shards for whichever coordinator configures this node.</summary>
public static class WorkerCommand
{
    private static readonly Option<string> HostnameOption = new("--hostname")
    { Description = "Address to bind Akka.Remote and the tensor channel to (Cluster:Hostname; default 127.0.0.1)." };
    private static readonly Option<int?> PortOption = new("--port")
    { Description = "Akka.Remote port (Cluster:Port; default 0 = any free port)." };
    private static readonly Option<string> PublicHostnameOption = new("--public-hostname")
    { Description = "Address other nodes reach this one at, if not --hostname (Cluster:PublicHostname)." };
    private static readonly Option<string> SeedNodesOption = new("--seed-nodes")
    { Description = "Comma-separated host:port of the coordinator (Cluster:SeedNodes; default 127.0.0.1:4053)." };
    private static readonly Option<int?> TensorPortOption = new("--tensor-port")
    { Description = "Port of this node's tensor channel (Cluster:TensorPort; default 0 = any free port)." };
    private static readonly Option<bool> InsecureOption = new("--insecure")
    { Description = "Allow a non-loopback --hostname without TLS (Cluster:AllowInsecure): only on a network nobody else can reach; warned about on every start." };
    private static readonly Option<string[]> FaultOption = new("--fault")
    {
        Description = "Rehearse failures (Worker:Fault): nan@K, crash@K, hang@K at this worker's K-th training shard, or slow=Fx[@K]; " +
            "comma-separated or repeated, e.g. --fault nan@120 --fault slow=3x.",
    };
    private static readonly Option<string> RoleOption = new("--role")
    {
        Description = "What this node is (Worker:Role): worker (default: computes shards), server (holds parameter-server ranges for a " +
            "coordinator started with --server-nodes), or worker,server (both on one node).",
    };
    private static readonly Option<int?> ThreadsOption = new("--threads")
    { Description = "libtorch threads for this worker (Worker:Threads; default: all cores)." };

    public static RootCommand Create()
    {
        var command = new RootCommand("Distributed worker node: joins the cluster at the seed nodes and trains the shards its coordinator assigns.")
        {
            HostnameOption, PortOption, PublicHostnameOption, SeedNodesOption, TensorPortOption, ThreadsOption, InsecureOption, FaultOption, RoleOption,
        };
        command.SetAction(RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        ClusterSettings settings;
        int threads;
        FaultPlan faults;
        NodeRoles roles;
        try
        {
            var configuration = NodeConfiguration.Load(ClusterRoles.Worker, new Dictionary<string, string?>
            {
                ["Cluster:Hostname"] = parse.GetValue(HostnameOption),
                ["Cluster:Port"] = parse.GetValue(PortOption)?.ToString(),
                ["Cluster:PublicHostname"] = parse.GetValue(PublicHostnameOption),
                ["Cluster:SeedNodes"] = parse.GetValue(SeedNodesOption),
                ["Cluster:TensorPort"] = parse.GetValue(TensorPortOption)?.ToString(),
                ["Worker:Threads"] = parse.GetValue(ThreadsOption)?.ToString(),
                ["Worker:Role"] = parse.GetValue(RoleOption),
                ["Cluster:AllowInsecure"] = parse.GetValue(InsecureOption) ? "true" : null,
                ["Worker:Fault"] = parse.GetValue(FaultOption) is { Length: > 0 } fault ? string.Join(",", fault) : null,
            });
            settings = ClusterSettings.From(configuration, new ClusterSettings { SeedNodes = [$"127.0.0.1:{ClusterSettings.DefaultCoordinatorPort}"] });
            var threadsText = configuration["Worker:Threads"];
            threads = string.IsNullOrWhiteSpace(threadsText) ? 0
                : int.TryParse(threadsText, out var parsed) && parsed >= 0 ? parsed
                : throw new ArgumentException($"Worker:Threads '{threadsText}' is not a number >= 0");
            if (threads == 0) threads = Environment.ProcessorCount;
            if (InsecureBinding.Warning(settings) is { } warning) Console.Error.WriteLine($"warning: {warning}");
            faults = FaultPlanParser.ParseForNode([configuration["Worker:Fault"] ?? ""], "Worker:Fault (--fault)");
            if (!faults.IsEmpty) Console.WriteLine($"worker: rehearsing faults: {faults}");
            roles = NodeRoles.Parse(configuration["Worker:Role"]);
            if (!roles.Worker && !faults.IsEmpty) throw new ArgumentException("Worker:Fault (--fault) needs the worker role: a server-only node trains no shards");
        }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine($"error: {error.Message}");
            return 2;
        }
        try
        {
            await WorkerNode.RunAsync(settings, threads, Console.Out, cancellationToken, faults, roles);
            return 0;
        }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine($"error: {error.Message}");
            return 2;
        }
    }
}
