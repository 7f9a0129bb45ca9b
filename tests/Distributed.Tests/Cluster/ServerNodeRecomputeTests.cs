using Distributed.Tests.Support;
using Distributed.Training.Checkpoints;
using Xunit.Abstractions;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A worker node dies after its result was accepted but before the server nodes fetched their ranges of it (direct
/// push): its contribution is computed again by the live worker, the step applied once, and the run reaches the
/// weights of the same run in one process, bit for bit, with every sample applied exactly once.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ServerNodeRecomputeTests(ITestOutputHelper output) : IDisposable
{
    private const int Steps = 6;
    private readonly ProcessGroup _group = new("distributed-server-recompute-", output);

    private static readonly string[] Options =
    [
        "--depth", "8", "--dataset", "synthetic", "--train-limit", "512", "--test-limit", "64", "--batch-size", "32",
        "--epochs", "1", "--max-steps", Steps.ToString(), "--warmup-epochs", "0", "--lr", "0.05", "--seed", "4",
        "--no-dashboard", "--checkpoint-minutes", "0",
    ];

    [Fact]
    public async Task A_worker_dying_before_the_server_nodes_fetched_its_accepted_result_has_its_shard_computed_again()
    {
        var inProcess = Path.Combine(_group.Directory, "in-process");
        var local = _group.Add(NodeProcess.Start("in-process", BuildOutput.Coordinator,
            ["train", .. Options, "--workers", "2", "--threads-per-worker", "1", "--ps-shards", "1", "--output", inProcess], _group.Directory));
        Assert.Equal(0, await local.WaitForExitAsync(TimeSpan.FromMinutes(4)));

        var port = NodeProcess.FreePort();
        var clustered = Path.Combine(_group.Directory, "cluster");
        var coordinator = _group.Add(NodeProcess.Start("coordinator", BuildOutput.Coordinator,
            ["train", .. Options, "--cluster", "--min-workers", "2", "--ps-shards", "2", "--server-nodes", "2", "--port", port.ToString(),
                "--output", clustered], _group.Directory));
        var seeds = $"127.0.0.1:{port}";
        foreach (var i in new[] { 0, 1 })
            _group.Add(NodeProcess.Start($"server-{i}", BuildOutput.Worker, ["--seed-nodes", seeds, "--role", "server"], _group.Directory));
        // The last step (each worker's sixth shard): the dying worker answers and is gone half a second later; the other one
        // takes a hundred times as long over its shard, so the server nodes fetch only once the first is dead. The last
        // step, because a step after it would be cut into one shard for the one worker left, and one shard of 32 samples
        // is not summed as two of 16 are: the weights would differ in the last bits from the in-process run's.
        var dying = _group.Add(NodeProcess.Start("worker-dying", BuildOutput.Worker,
            ["--seed-nodes", seeds, "--threads", "1", "--fault", $"crash-after@{Steps}"], _group.Directory));
        _group.Add(NodeProcess.Start("worker-slow", BuildOutput.Worker,
            ["--seed-nodes", seeds, "--threads", "1", "--fault", $"slow=100x@{Steps}"], _group.Directory));

        var exit = await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(5));
        output.WriteLine(coordinator.Tail(40));
        Assert.Equal(0, exit);
        await dying.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains($"fault plan crash@{Steps}", dying.Output);
        var metrics = await File.ReadAllTextAsync(Path.Combine(clustered, "metrics.jsonl"));
        Assert.Contains($"step {Steps - 1} shard", metrics);
        Assert.Contains("reassigned because its result could not be read by the parameter server", metrics);

        var expected = Checkpoint.Read(inProcess);
        var actual = Checkpoint.Read(clustered);
        Assert.Equal(Steps, actual.Header.Step);
        BitExact.Equal(expected.State, actual.State, "weights of the run whose worker died against the in-process run");
        BitExact.Equal(expected.Momentum, actual.Momentum, "momentum of the run whose worker died against the in-process run");
        Assert.Equal([(Steps * 32L, 0L, 0L)], Metrics.Ledgers(clustered));
    }

    public void Dispose() => _group.Dispose();
}
