using Distributed.Training.Checkpoints;
using Xunit.Abstractions;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Chaos on a loopback cluster of real processes: in each trial a random worker is SIGKILLed at a random step and a
/// new one joins; in another the coordinator itself is SIGKILLed and resumed from its checkpoint while the workers
/// wait and rejoin. Every trial must finish with every planned step applied and a clean sample ledger. The random
/// choices come from a seed printed with each trial, so a failing trial can be replayed.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ChaosTests(ITestOutputHelper output) : IDisposable
{
    private const int Samples = 2048;
    private const int Batch = 32;
    private const int TotalSteps = 2 * Samples / Batch; // two whole epochs, so both ledgers close
    private readonly ProcessGroup _group = new("distributed-chaos-", output);

    [Theory]
    [InlineData(11)]
    [InlineData(22)]
    [InlineData(33)]
    public async Task A_random_worker_killed_at_a_random_step_and_a_new_one_joining_leave_every_step_applied_once(int seed)
    {
        var random = new Random(seed);
        var killAt = random.Next(5, TotalSteps - 30);
        var victim = random.Next(0, 2);
        output.WriteLine($"seed {seed}: SIGKILL worker {victim} at step {killAt}");
        var (coordinator, run, seeds) = StartCoordinator("kill", resume: false);
        var workers = new[] { StartWorker("w0", seeds), StartWorker("w1", seeds) };
        await Metrics.WaitForStepAsync(run, killAt, TimeSpan.FromMinutes(3), coordinator);

        workers[victim].Kill();
        StartWorker("w2", seeds);

        Assert.Equal(0, await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(5)));
        Assert.Equal(Enumerable.Range(0, TotalSteps).Select(i => (long)i), Metrics.Steps(run));
        AssertCleanLedgers(run, epochs: 2);
        Assert.Equal(TotalSteps, Checkpoint.Read(run).Header.Step);
    }

    [Fact]
    public async Task A_coordinator_killed_mid_run_is_resumed_from_its_checkpoint_and_its_workers_rejoin()
    {
        var (coordinator, run, seeds) = StartCoordinator("resume", resume: false);
        StartWorker("w0", seeds);
        StartWorker("w1", seeds);
        await Metrics.WaitForStepAsync(run, 25, TimeSpan.FromMinutes(3), coordinator);

        coordinator.Kill();
        var checkpointed = Checkpoint.Read(run).Header.Step;
        Assert.InRange(checkpointed, 10, TotalSteps - 1);
        var (resumed, _, _) = StartCoordinator("resume", resume: true, port: int.Parse(seeds.Split(':')[1]));

        Assert.Equal(0, await resumed.WaitForExitAsync(TimeSpan.FromMinutes(5)));
        Assert.Contains($"at step {checkpointed}", resumed.Output);
        // Steps up to the kill may appear twice (the killed run went past its last checkpoint); every step is there,
        // and the resumed run applied each of its steps once, in order.
        var steps = Metrics.Steps(run);
        Assert.Equal(Enumerable.Range(0, TotalSteps).Select(i => (long)i), steps.Distinct().Order());
        Assert.Equal(Enumerable.Range((int)checkpointed, TotalSteps - (int)checkpointed).Select(i => (long)i), steps.Skip(steps.Count - (TotalSteps - (int)checkpointed)));
        Assert.Equal(TotalSteps, Checkpoint.Read(run).Header.Step);
        Assert.All(Metrics.Ledgers(run), ledger => Assert.Equal((0L, 0L), (ledger.Duplicated, ledger.Dropped)));
    }

    private void AssertCleanLedgers(string run, int epochs)
    {
        var ledgers = Metrics.Ledgers(run);
        Assert.Equal(epochs, ledgers.Count);
        Assert.All(ledgers, ledger => Assert.Equal(((long)Samples, 0L, 0L), ledger));
    }

    private (NodeProcess Coordinator, string Run, string Seeds) StartCoordinator(string name, bool resume, int? port = null)
    {
        var chosen = port ?? NodeProcess.FreePort();
        var run = Path.Combine(_group.Directory, name);
        string[] options =
        [
            "train", "--cluster", "--min-workers", "2", "--port", chosen.ToString(), "--depth", "8", "--dataset", "synthetic",
            "--train-limit", Samples.ToString(), "--test-limit", "256", "--batch-size", Batch.ToString(), "--epochs", "2",
            "--warmup-epochs", "0", "--lr", "0.05", "--shard-timeout", "60", "--checkpoint-every", "10", "--no-dashboard",
            "--output", run,
        ];
        var process = Start(NodeProcess.Start(resume ? $"{name}-resumed" : name, BuildOutput.Coordinator,
            resume ? [.. options, "--resume", run] : options, _group.Directory));
        return (process, run, $"127.0.0.1:{chosen}");
    }

    private NodeProcess StartWorker(string name, string seeds) =>
        Start(NodeProcess.Start(name, BuildOutput.Worker, ["--seed-nodes", seeds, "--threads", "1"], _group.Directory));

    private NodeProcess Start(NodeProcess process) => _group.Add(process);

    public void Dispose() => _group.Dispose();
}
