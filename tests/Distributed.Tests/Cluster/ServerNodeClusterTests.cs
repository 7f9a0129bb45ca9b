using System.Globalization;
using System.Text.RegularExpressions;
using Distributed.Tests.Support;
using Distributed.Training.Checkpoints;
using Xunit.Abstractions;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Parameter-server ranges on server nodes (`--server-nodes`, `distributed-worker --role server`), end to end with
/// real processes: the ranges are placed by cluster sharding on the server nodes, each server node holds one, and the
/// run reaches weights and momentum bit-identical to the same run in one process with one parameter server, with the
/// gradients going from the workers straight to the server nodes.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ServerNodeClusterTests(ITestOutputHelper output) : IDisposable
{
    private const int Steps = 12;
    private readonly ProcessGroup _group = new("distributed-servers-", output);

    private static readonly string[] Options =
    [
        "--depth", "8", "--dataset", "synthetic", "--train-limit", "512", "--test-limit", "64", "--batch-size", "32",
        "--epochs", "1", "--max-steps", Steps.ToString(), "--warmup-epochs", "0", "--lr", "0.05", "--seed", "4",
        "--no-dashboard", "--checkpoint-minutes", "0",
    ];

    /// <remarks>
    /// With bf16 the server nodes fetch ranges of 16-bit packed buffers from the worker and decode them. That run has one
    /// worker: error feedback keeps a residual per worker, so with two the weights depend on which worker computed which
    /// shard, which the cluster's timing decides (as it does for any compressed run with several workers).
    /// </remarks>
    [Theory]
    [InlineData("none", 2)]
    [InlineData("bf16", 1)]
    public async Task Two_ranges_on_two_server_nodes_reach_the_weights_of_one_in_process_server(string compression, int workerCount)
    {
        var inProcess = Path.Combine(_group.Directory, "in-process");
        var local = _group.Add(NodeProcess.Start("in-process", BuildOutput.Coordinator,
            ["train", .. Options, "--compress", compression, "--workers", workerCount.ToString(), "--threads-per-worker", "1", "--ps-shards", "1", "--output", inProcess], _group.Directory));
        Assert.Equal(0, await local.WaitForExitAsync(TimeSpan.FromMinutes(4)));

        var port = NodeProcess.FreePort();
        var clustered = Path.Combine(_group.Directory, "cluster");
        var coordinator = _group.Add(NodeProcess.Start("coordinator", BuildOutput.Coordinator,
            ["train", .. Options, "--compress", compression, "--cluster", "--min-workers", workerCount.ToString(), "--ps-shards", "2", "--server-nodes", "2", "--port", port.ToString(),
                "--output", clustered], _group.Directory));
        var seeds = $"127.0.0.1:{port}";
        var servers = Enumerable.Range(0, 2).Select(i => _group.Add(NodeProcess.Start($"server-{i}", BuildOutput.Worker,
            ["--seed-nodes", seeds, "--role", "server"], _group.Directory))).ToArray();
        var workers = Enumerable.Range(0, workerCount).Select(i => _group.Add(NodeProcess.Start($"worker-{i}", BuildOutput.Worker,
            ["--seed-nodes", seeds, "--threads", "1"], _group.Directory))).ToArray();
        var exit = await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(5));
        output.WriteLine(coordinator.Output);
        Assert.Equal(0, exit);
        Assert.Contains("Server nodes: 2 of 2 registered", coordinator.Output);
        foreach (var worker in workers) Assert.Contains("training shard(s) computed", worker.Output);
        // Sharding spread the two ranges: each server node holds one.
        var held = servers.Select(s => s.Lines.Where(l => l.StartsWith("server: holds range server", StringComparison.Ordinal)).ToList()).ToArray();
        foreach (var (server, lines) in servers.Zip(held)) Assert.True(lines.Count == 1, $"{server.Name} held {lines.Count} ranges:\n{server.Output}");
        Assert.NotEqual(held[0][0], held[1][0]);

        var expected = Checkpoint.Read(inProcess);
        var actual = Checkpoint.Read(clustered);
        Assert.Equal(Steps, actual.Header.Step);
        BitExact.Equal(expected.State, actual.State, "weights of the server-node run against the in-process run");
        BitExact.Equal(expected.Momentum, actual.Momentum, "momentum of the server-node run against the in-process run");

        // Direct pull: the workers fetch each step's weights from the server nodes, range by range, so the coordinator's
        // node sends the state only to start the run (each range's opening values, each worker's first weights), not a
        // state per worker and step as before (then it sent 24 states in the two-worker run, 12 in the one-worker run).
        var line = coordinator.Lines.Single(l => l.StartsWith("Tensor channel of this node:", StringComparison.Ordinal));
        var sent = long.Parse(Regex.Match(line, @"([\d,]+) bytes sent").Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        var received = long.Parse(Regex.Match(line, @"([\d,]+) bytes received").Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        var state = (long)expected.State.Length * sizeof(float);
        output.WriteLine($"coordinator node: {sent:N0} bytes sent, {received:N0} received; state {state:N0} bytes; {Steps} steps, {workerCount} worker(s)");
        Assert.True(sent < Steps * state, $"the coordinator's node sent {sent:N0} bytes in {Steps} steps, a state a step is {Steps * state:N0}: {line}");
        // Direct push: the server nodes fetched their ranges of each gradient from the workers, and the coordinator's
        // node fetches the new state only when it needs its values (health step 0, the last step, the final checkpoint).
        Assert.True(received < Steps * state, $"the coordinator's node received {received:N0} bytes in {Steps} steps, a state a step is {Steps * state:N0}: {line}");
    }

    public void Dispose() => _group.Dispose();
}
