using System.Text.RegularExpressions;
using Distributed.Training.Checkpoints;
using Xunit.Abstractions;

namespace Distributed.Tests.Cluster;

/// <summary>
/// The cluster for real: a coordinator process and worker processes on loopback, a worker joining mid-run and a
/// worker SIGKILLed mid-run. The run must still apply exactly the planned number of steps, each once.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed partial class ClusterEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private const int TotalSteps = 400;
    private readonly ProcessGroup _group = new("distributed-e2e-", output);

    [Fact]
    public async Task Training_survives_a_SIGKILLed_worker_and_a_worker_that_joins_mid_run()
    {
        var port = NodeProcess.FreePort();
        var runDirectory = Path.Combine(_group.Directory, "run");
        var coordinator = Start(NodeProcess.Start("coordinator", BuildOutput.Coordinator,
        [
            "train", "--cluster", "--min-workers", "2", "--port", port.ToString(),
            "--depth", "8", "--dataset", "synthetic", "--train-limit", "4096", "--test-limit", "512",
            "--batch-size", "32", "--epochs", "4", "--max-steps", TotalSteps.ToString(), "--warmup-epochs", "0", "--lr", "0.05",
            "--shard-timeout", "60", "--checkpoint-every", "100", "--output", runDirectory,
        ], _group.Directory));
        var seeds = $"127.0.0.1:{port}";
        var first = Start(StartWorker("worker-a", seeds));
        var second = Start(StartWorker("worker-b", seeds));
        await coordinator.WaitForLineAsync(l => l.Contains("(2 live)"), TimeSpan.FromSeconds(90), "two live workers");
        await Metrics.WaitForStepAsync(runDirectory, 40, TimeSpan.FromSeconds(90), coordinator);

        // A third worker joins while training runs: it must be configured, get the weights and take shards.
        var joiner = Start(StartWorker("worker-c", seeds));
        var joinerAddress = Address(await joiner.WaitForLineAsync(l => l.StartsWith("worker: node "), TimeSpan.FromSeconds(60), "its node address"));
        await coordinator.WaitForLineAsync(l => l.Contains($"worker@{joinerAddress} is live"), TimeSpan.FromSeconds(60), "the joining worker going live");
        await joiner.WaitForLineAsync(l => l.Contains("training shard(s) computed"), TimeSpan.FromSeconds(60), "a shard on the joining worker");
        var stepAtJoin = Metrics.LastStep(runDirectory);
        Assert.True(stepAtJoin < TotalSteps - 20, $"the run was nearly over (step {stepAtJoin}) when the third worker joined; the test proves nothing");

        // SIGKILL the second worker mid-step: no goodbye. Its shard must be reassigned within seconds.
        var victimAddress = Address(second.Lines.First(l => l.StartsWith("worker: node ")));
        var killedAt = DateTime.UtcNow;
        second.Kill();
        await coordinator.WaitForLineAsync(l => l.Contains($"worker@{victimAddress} is gone"), TimeSpan.FromSeconds(20), "the killed worker being noticed");
        var detection = DateTime.UtcNow - killedAt;
        output.WriteLine($"SIGKILL noticed after {detection.TotalSeconds:F1} s");
        Assert.True(detection < TimeSpan.FromSeconds(15), $"a SIGKILLed worker took {detection.TotalSeconds:F1} s to be noticed");

        var exitCode = await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(4));
        output.WriteLine(coordinator.Output);
        Assert.Equal(0, exitCode);
        Assert.Contains($"after {TotalSteps} steps", coordinator.Output);

        // Every step applied exactly once, in order, and the final checkpoint is at the last step.
        var steps = Metrics.Steps(runDirectory);
        Assert.Equal(Enumerable.Range(0, TotalSteps).Select(i => (long)i), steps);
        var checkpoint = Checkpoint.Read(runDirectory);
        Assert.Equal(TotalSteps, checkpoint.Header.Step);
        Assert.Equal(TotalSteps, checkpoint.Header.WeightsVersion);
        // The sample ledger is clean, despite the kill: the three whole epochs applied each of the 4096 samples exactly
        // once, and the last (cut short by --max-steps) the samples of its steps.
        var ledgers = Metrics.Ledgers(runDirectory);
        Assert.Equal([(4096L, 0L, 0L), (4096L, 0L, 0L), (4096L, 0L, 0L), (TotalSteps * 32L - 3 * 4096L, 0L, 0L)], ledgers);

        // The joiner really worked: the coordinator's report credits it with training shards.
        var joinerShards = ShardsOf(coordinator.Output, joinerAddress);
        Assert.True(joinerShards > 0, $"the joining worker delivered no training shards:\n{coordinator.Output}");
        Assert.True(ShardsOf(coordinator.Output, Address(first.Lines.First(l => l.StartsWith("worker: node ")))) > 0);
    }

    /// <summary>
    /// ResNet-8 at width 23 has 39 M parameters: 156 MB of weights go to each worker and 156 MB of gradient come
    /// back every step. None of it may ride on Akka.Remote (128 KB frames, shared with heartbeats).
    /// </summary>
    [Fact]
    public async Task A_156_MB_model_trains_across_processes_without_oversized_frames_or_unreachable_nodes()
    {
        var port = NodeProcess.FreePort();
        var runDirectory = Path.Combine(_group.Directory, "wide");
        var coordinator = Start(NodeProcess.Start("coordinator", BuildOutput.Coordinator,
        [
            "train", "--cluster", "--min-workers", "2", "--port", port.ToString(), "--depth", "8", "--width", "23",
            "--dataset", "synthetic", "--train-limit", "4", "--test-limit", "2", "--batch-size", "2", "--epochs", "1", "--no-augment",
            // No speculative copies: the test asserts that nothing was discarded, and a copy's loser would be.
            "--shard-timeout", "600", "--no-speculate", "--output", runDirectory,
        ], _group.Directory));
        var seeds = $"127.0.0.1:{port}";
        var workers = new[] { Start(StartWorker("wide-a", seeds)), Start(StartWorker("wide-b", seeds)) };

        Assert.Equal(0, await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(8)));
        output.WriteLine(coordinator.Output);
        Assert.Contains("Model: 39,031,194 trainable parameters", coordinator.Output);
        Assert.Contains("after 2 steps (0 shards reassigned, 0 results discarded)", coordinator.Output);
        Assert.Equal([0L, 1L], Metrics.Steps(runDirectory));
        Assert.True(Checkpoint.Read(runDirectory).State.Length * 4L > 150_000_000);
        // A spuriously unreachable worker would have been dropped ("is gone") and its shard reassigned.
        Assert.DoesNotContain(" is gone", coordinator.Output);
        Assert.DoesNotContain("versized", coordinator.Output); // Akka's "Discarding oversized payload"
        foreach (var worker in workers)
        {
            Assert.DoesNotContain("versized", worker.Output);
            Assert.Contains("training shard(s) computed", worker.Output);
            // Until the coordinator finished and left, the worker was never removed from the cluster.
            var whileTraining = worker.Lines.TakeWhile(l => !l.Contains("left the cluster"));
            Assert.DoesNotContain(whileTraining, l => l.Contains("was removed from the cluster"));
        }
    }

    private NodeProcess StartWorker(string name, string seeds) =>
        NodeProcess.Start(name, BuildOutput.Worker, ["--seed-nodes", seeds, "--threads", "1"], _group.Directory);

    private NodeProcess Start(NodeProcess process) => _group.Add(process);

    /// <summary>"worker: node akka.tcp://distributed@127.0.0.1:40317 (...)" → "127.0.0.1:40317".</summary>
    private static string Address(string line) => NodeAddress().Match(line).Groups[1].Value;

    private static int ShardsOf(string coordinatorOutput, string address)
    {
        var match = Regex.Match(coordinatorOutput, $@"worker@{Regex.Escape(address)}: (\d+) training shards");
        return match.Success ? int.Parse(match.Groups[1].Value) : 0;
    }

    [GeneratedRegex(@"@([0-9.]+:\d+)")]
    private static partial Regex NodeAddress();

    public void Dispose() => _group.Dispose();
}

/// <summary>Tests that start cluster processes run one at a time: the machine has two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterProcessCollection
{
    public const string Name = "cluster processes";
}
