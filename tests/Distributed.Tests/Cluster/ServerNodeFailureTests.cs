using Distributed.Training.Checkpoints;
using Xunit.Abstractions;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A server node holding a parameter-server range is SIGKILLed mid-run. Its range of the state (and momentum) is gone,
/// so the run cannot go on and cannot save its current state: it must fail, naming the lost range, within the failure
/// detector's time, and leave the last periodic checkpoint as the way back; nothing may wait for the dead node.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ServerNodeFailureTests(ITestOutputHelper output) : IDisposable
{
    private readonly ProcessGroup _group = new("distributed-server-failure-", output);

    [Fact]
    public async Task A_killed_server_node_fails_the_run_naming_its_range_and_leaves_the_last_checkpoint()
    {
        var port = NodeProcess.FreePort();
        var directory = Path.Combine(_group.Directory, "run");
        var coordinator = _group.Add(NodeProcess.Start("coordinator", BuildOutput.Coordinator,
        [
            "train", "--depth", "8", "--dataset", "synthetic", "--train-limit", "2048", "--test-limit", "64", "--batch-size", "32",
            "--epochs", "20", "--warmup-epochs", "0", "--seed", "5", "--no-dashboard", "--checkpoint-minutes", "0", "--checkpoint-every", "5",
            "--cluster", "--min-workers", "1", "--ps-shards", "2", "--server-nodes", "2", "--port", port.ToString(), "--output", directory,
        ], _group.Directory));
        var seeds = $"127.0.0.1:{port}";
        var servers = Enumerable.Range(0, 2).Select(i => _group.Add(NodeProcess.Start($"server-{i}", BuildOutput.Worker,
            ["--seed-nodes", seeds, "--role", "server"], _group.Directory))).ToArray();
        _group.Add(NodeProcess.Start("worker", BuildOutput.Worker, ["--seed-nodes", seeds, "--threads", "1"], _group.Directory));

        await Metrics.WaitForStepAsync(directory, 12, TimeSpan.FromMinutes(4), coordinator);
        var held = servers[1].Lines.Single(l => l.StartsWith("server: holds range server", StringComparison.Ordinal));
        var range = held["server: holds ".Length..held.IndexOf(", state", StringComparison.Ordinal)]; // "range server i"
        servers[1].Kill();

        // Failure detection (about 5 s) and downing (5 s) on a loaded machine; nothing else may add a wait.
        var exit = await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine(coordinator.Tail(40));
        Assert.Equal(1, exit);
        var failure = coordinator.Lines.Single(l => l.StartsWith("Training failed at step", StringComparison.Ordinal));
        Assert.Contains($"{range} [", failure);
        // The step the run was at when the node was lost (at least 12, the step it was killed after), never -1.
        var failedAt = long.Parse(System.Text.RegularExpressions.Regex.Match(failure, @"^Training failed at step (-?\d+):").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(failedAt >= 12, failure);
        Assert.Contains("is gone (the node left or died): its range of the state is lost", failure);
        Assert.Contains(coordinator.Lines, l => l.StartsWith("The parameter server's last state could not be read; the last checkpoint written is step", StringComparison.Ordinal));
        var checkpoint = Checkpoint.Read(directory);
        Assert.True(checkpoint.Header.Step >= 10 && checkpoint.Header.Step % 5 == 0, $"last checkpoint at step {checkpoint.Header.Step}");
    }

    public void Dispose() => _group.Dispose();
}
