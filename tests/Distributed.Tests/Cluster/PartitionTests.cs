using System.Diagnostics;
using Xunit.Abstractions;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A network partition for real: coordinator and workers each in their own network namespace with their own
/// IP (deploy/netns-cluster.sh builds the network), one worker's cable pulled mid-run and plugged back in.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class PartitionTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("distributed-partition-").FullName;
    private readonly NetworkLab _lab = new();
    private readonly List<NodeProcess> _processes = new();

    [NetnsFact]
    public async Task A_worker_cut_off_is_removed_training_goes_on_and_after_healing_it_rejoins_and_takes_shards()
    {
        _lab.Up(workers: 2);
        var runDirectory = Path.Combine(_directory, "run");
        var coordinator = Start(NodeProcess.Start("coordinator", BuildOutput.Coordinator,
        [
            "train", "--cluster", "--insecure", "--hostname", _lab.Ip("coord"), "--port", "4053", "--min-workers", "2",
            "--depth", "8", "--dataset", "synthetic", "--train-limit", "4096", "--test-limit", "256",
            "--batch-size", "32", "--epochs", "100", "--max-steps", "20000", "--shard-timeout", "60", "--output", runDirectory,
        ], _directory, _lab.Namespace("coord")));
        var seeds = $"{_lab.Ip("coord")}:4053";
        Start(StartWorker("w1", seeds));
        var cutOff = Start(StartWorker("w2", seeds));
        await coordinator.WaitForLineAsync(l => l.Contains("(2 live)"), TimeSpan.FromSeconds(90), "two live workers");
        await Metrics.WaitForStepAsync(runDirectory, 30, TimeSpan.FromSeconds(90), coordinator);

        // Pull w2's cable: no FIN, no RST, just silence, as with a dead switch port.
        var w2 = $"worker@{_lab.Ip("w2")}:";
        _lab.Cut("w2");
        var cutAt = Stopwatch.StartNew();
        await coordinator.WaitForLineAsync(l => l.Contains(w2) && l.Contains("is gone"), TimeSpan.FromSeconds(30), "the cut-off worker being dropped");
        output.WriteLine($"cut-off worker dropped after {cutAt.Elapsed.TotalSeconds:F1} s");
        var stepAfterDrop = Metrics.LastStep(runDirectory);
        await Metrics.WaitForStepAsync(runDirectory, stepAfterDrop + 30, TimeSpan.FromSeconds(60), coordinator);
        // Its own side of the split brain resolver downs the isolated worker; the process starts a fresh node.
        await cutOff.WaitForLineAsync(l => l.Contains("was removed from the cluster"), TimeSpan.FromSeconds(60), "the isolated worker downing itself");
        var shardsBefore = cutOff.Lines.Count(l => l.Contains("training shard(s) computed"));

        _lab.Heal("w2");
        await coordinator.WaitForLineAsync(l => l.Contains(w2) && l.Contains("is live"), TimeSpan.FromSeconds(90), "the healed worker going live again", skip: 1);
        await cutOff.WaitForLineAsync(l => l.Contains("training shard(s) computed"), TimeSpan.FromSeconds(60), "a shard on the rejoined worker", skip: shardsBefore);
        var stepAtRejoin = Metrics.LastStep(runDirectory);
        output.WriteLine($"rejoined and computing at step {stepAtRejoin}, {cutAt.Elapsed.TotalSeconds:F1} s after the cut");

        // Steps stay exactly-once throughout: every applied step appears once, none skipped.
        var steps = Metrics.Steps(runDirectory);
        Assert.Equal(Enumerable.Range(0, steps.Count).Select(i => (long)i), steps);
        Assert.False(coordinator.HasExited, coordinator.Tail());
    }

    private NodeProcess StartWorker(string node, string seeds) =>
        NodeProcess.Start(node, BuildOutput.Worker, ["--insecure", "--hostname", _lab.Ip(node), "--seed-nodes", seeds, "--threads", "1"],
            _directory, _lab.Namespace(node));

    private NodeProcess Start(NodeProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            output.WriteLine($"--- {process.Name}\n{process.Tail(25)}");
            process.Dispose();
        }
        _lab.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Namespaces from deploy/netns-cluster.sh under a prefix and subnet unique to this test process, removed on
/// dispose (and, first thing, any left by a crashed earlier run of the same prefix).
/// </summary>
public sealed class NetworkLab : IDisposable
{
    private readonly string _prefix = $"dt{Environment.ProcessId % 100000}";
    private readonly string _subnet = $"10.77.{100 + Environment.ProcessId % 150}";
    private bool _up;

    public static string Script => Path.Combine(BuildOutput.RepositoryRoot, "deploy", "netns-cluster.sh");

    public string Namespace(string node) => $"{_prefix}-{node}";
    public string Ip(string node) => node == "coord" ? $"{_subnet}.1" : $"{_subnet}.{10 + int.Parse(node[1..])}";

    public void Up(int workers)
    {
        _up = true;
        Run("up", "--workers", workers.ToString());
    }

    public void Cut(string node) => Run("cut", node);
    public void Heal(string node) => Run("heal", node);

    private void Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Script, "--prefix", _prefix, "--subnet", _subnet }.Concat(arguments)) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"netns-cluster.sh {string.Join(' ', arguments)} failed ({process.ExitCode}): {text}");
    }

    public void Dispose()
    {
        if (_up) Run("down");
    }

    /// <summary>Null when this machine can run the namespace tests, else why not.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        if (Environment.UserName != "root" && Posix.EffectiveUserId() != 0) return "network namespaces need root; run the tests as root to include the partition test";
        try
        {
            var probe = $"dtprobe{Environment.ProcessId}";
            using var add = Process.Start(new ProcessStartInfo("ip", ["netns", "add", probe]) { RedirectStandardError = true })!;
            add.WaitForExit();
            if (add.ExitCode != 0) return $"'ip netns add' failed here: {add.StandardError.ReadToEnd().Trim()}";
            using var del = Process.Start("ip", ["netns", "del", probe]);
            del.WaitForExit();
            return null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "the 'ip' command (iproute2) is not installed";
        }
    }
}

/// <summary>A fact that runs only where network namespaces can be made (root, iproute2), and says why when it is skipped.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Reason = new(NetworkLab.Unavailable);

    public NetnsFactAttribute()
    {
        if (Reason.Value is { } reason) Skip = $"Skipped: {reason}.";
    }
}
