using Distributed.Tests.Cluster;
using Distributed.Training.Checkpoints;
using Xunit.Abstractions;

namespace Distributed.Tests.Compression;

/// <summary>
/// `--compress` end to end: a coordinator process and a worker process on loopback, the gradient crossing the tensor
/// channel as 16-bit codes, must reach the same weights, bit for bit, as the same run with an in-process worker
/// (where nothing is packed). That holds only if the cluster worker rounds with error feedback exactly as the
/// in-process one does and the packing loses nothing; a worker that skipped the rounding, or a lossy pack, would
/// change the weights.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class CompressedClusterTests(ITestOutputHelper output) : IDisposable
{
    private const int Steps = 12;
    private readonly ProcessGroup _group = new("distributed-compress-", output);

    private static readonly string[] Options =
    [
        "--depth", "8", "--dataset", "synthetic", "--train-limit", "512", "--test-limit", "64", "--batch-size", "32",
        "--epochs", "1", "--max-steps", Steps.ToString(), "--warmup-epochs", "0", "--lr", "0.05", "--seed", "4",
        "--no-dashboard", "--checkpoint-minutes", "0",
    ];

    [Theory]
    [InlineData("fp16")]
    [InlineData("bf16")]
    public async Task A_compressed_cluster_run_reaches_the_same_weights_as_the_same_run_in_one_process(string compression)
    {
        var inProcess = Path.Combine(_group.Directory, "in-process");
        var local = _group.Add(NodeProcess.Start("in-process", BuildOutput.Coordinator,
            ["train", .. Options, "--compress", compression, "--workers", "1", "--threads-per-worker", "1", "--output", inProcess], _group.Directory));
        Assert.Equal(0, await local.WaitForExitAsync(TimeSpan.FromMinutes(4)));

        var port = NodeProcess.FreePort();
        var clustered = Path.Combine(_group.Directory, "cluster");
        var coordinator = _group.Add(NodeProcess.Start("coordinator", BuildOutput.Coordinator,
            ["train", .. Options, "--compress", compression, "--cluster", "--min-workers", "1", "--port", port.ToString(), "--output", clustered], _group.Directory));
        var worker = _group.Add(NodeProcess.Start("worker", BuildOutput.Worker, ["--seed-nodes", $"127.0.0.1:{port}", "--threads", "1"], _group.Directory));
        var exit = await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(4));
        output.WriteLine(coordinator.Output);
        Assert.Equal(0, exit);
        Assert.Contains($"Gradient push: {compression} with error feedback", coordinator.Output);
        Assert.Contains("training shard(s) computed", worker.Output);

        var expected = Checkpoint.Read(inProcess);
        var actual = Checkpoint.Read(clustered);
        Assert.Equal(Steps, actual.Header.Step);
        Assert.Equal(expected.State.Length, actual.State.Length);
        var differing = Enumerable.Range(0, expected.State.Length)
            .Count(i => BitConverter.SingleToInt32Bits(expected.State[i]) != BitConverter.SingleToInt32Bits(actual.State[i]));
        Assert.True(differing == 0, $"{differing} of {expected.State.Length} weights differ between the in-process and the cluster run");
    }

    public void Dispose() => _group.Dispose();
}
