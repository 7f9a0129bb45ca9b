// Cluster mode (this process as coordinator + 2 worker processes) against the one-process mode and a bare
// TorchSharp loop, interleaved round by round (bench/README.md, platform fact 4), then the tensor channel against a
// plain socket for a 150 MB broadcast. Figures, not asserts: bench/README.md records them with the machine.
//   dotnet run -c Release --project bench/Cluster -- [rounds=2] [steps=40]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Akka.Actor;
using Distributed.Bench.Cluster;
using Distributed.Bench.Shared;
using Distributed.Cluster;
using Distributed.Cluster.Transport;
using Distributed.Training.Hosting;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.Data;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Worker;
using TorchSharp;
using static TorchSharp.torch;
using Distributed.Cluster.Remote;
using Distributed.Training.Workers;

TorchRuntime.Initialize();
var rounds = args.Length > 0 ? int.Parse(args[0]) : 2;
var timed = args.Length > 1 ? int.Parse(args[1]) : 40;
const int Batch = 128, Warmup = 10, Workers = 2;
var model = ModelSpec.ResNet20FashionMnist;
var data = new DataSpec(DatasetCatalog.FashionMnistName, null, 2, true);

Console.WriteLine($"ResNet-20, Fashion-MNIST, global batch {Batch}, {Environment.ProcessorCount} cores, malloc tuned: {TorchRuntime.MallocTuned}");
Console.WriteLine($"img/s = batch / median step interval over {timed} steps after {Warmup} warm-up steps; " +
    "outside compute = 1 - sum(slowest shard's compute) / sum(step time)\n");

var port = FreePort();
var settings = new ClusterSettings { Port = port };
using var host = TrainingHost.Build(settings, tls: null);
await using var channel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
await host.StartAsync();
var system = TrainingHost.ActorSystemOf(host);
var workerDll = WorkerExecutable();
var workerProcesses = Enumerable.Range(0, Workers).Select(_ => StartWorker(workerDll, port)).ToList();

var (bareName, oneProcessName, clusterName) = ($"bare TorchSharp loop, {Workers} threads", $"one process, {Workers} workers x 1 thread",
    $"cluster, {Workers} worker processes x 1 thread");
var results = new Dictionary<string, List<Measurement>> { [bareName] = [], [oneProcessName] = [], [clusterName] = [] };
void Record(string name, Measurement value)
{
    results[name].Add(value);
    Console.WriteLine($"  {name,-44} {value.ImagesPerSecond,7:F0} img/s   outside compute {(double.IsNaN(value.Outside) ? "   -" : $"{value.Outside,5:P1}")}" +
        (double.IsNaN(value.ComputeMilliseconds) ? "" : $"   slowest shard's compute {value.ComputeMilliseconds,5:F1} ms (median)"));
}

try
{
    for (var round = 1; round <= rounds; round++)
    {
        Console.WriteLine($"round {round}");
        Record(bareName, new Measurement(BareLoop(Workers), double.NaN, double.NaN));
        // The two modes swap places every round, so a drift in the machine's speed favours neither.
        foreach (var cluster in round % 2 == 1 ? new[] { false, true } : [true, false])
            Record(cluster ? clusterName : oneProcessName, await SystemAsync(cluster));
    }
    Console.WriteLine("\nsummary (median of rounds)");
    var bare = Median(results[bareName].Select(v => v.ImagesPerSecond).ToList());
    var oneProcess = Median(results[oneProcessName].Select(v => v.ImagesPerSecond).ToList());
    foreach (var (name, values) in results)
    {
        var rate = Median(values.Select(v => v.ImagesPerSecond).ToList());
        Console.WriteLine($"  {name,-44} {rate,7:F0} img/s  {rate / bare,5:F2}x bare  {rate / oneProcess,5:F2}x one-process" +
            $"  outside compute {Median(values.Select(v => v.Outside).ToList()),6:P1}  runs: {string.Join(", ", values.Select(v => v.ImagesPerSecond.ToString("F0")))}");
    }
    var paired = results[clusterName].Zip(results[oneProcessName], (c, o) => c.ImagesPerSecond / o.ImagesPerSecond).ToList();
    var computeRatio = results[clusterName].Zip(results[oneProcessName], (c, o) => c.ComputeMilliseconds / o.ComputeMilliseconds).ToList();
    Console.WriteLine($"  cluster / one process, same round: median {Median(paired):F2}x (rounds: {string.Join(", ", paired.Select(r => r.ToString("F2")))}); " +
        $"slowest-shard compute, cluster / one process: median {Median(computeRatio):F2}x");
}
finally
{
    foreach (var worker in workerProcesses)
    {
        if (!worker.HasExited) worker.Kill();
        worker.WaitForExit(10_000);
    }
    await host.StopAsync();
}

await TransportAsync();
return 0;

double BareLoop(int threads) => BareTrainingLoop.ImagesPerSecond(model, data, Batch, Warmup, timed, threads);

async Task<Measurement> SystemAsync(bool cluster)
{
    var plan = new TrainingPlan(1, Batch, 1, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0), Workers,
        TimeSpan.FromMinutes(5), MaxSteps: Warmup + timed, EvaluateEachEpoch: false);
    var steps = new StepTimes();
    var computeByRound = new ConcurrentDictionary<long, double>();
    IWorkerSource workers = cluster ? new ClusterWorkers(channel, Workers) : new InProcessWorkers(Workers, 1);
    var outcome = await TrainingRun.RunAsync(system, new TrainingJob(model, data, plan, SgdSettings.Default, Workers, 1, null),
        steps, new TappedWorkers(workers, computeByRound), CancellationToken.None);
    if (!outcome.Succeeded) throw new InvalidOperationException(outcome.Failed!.Reason);
    var timedSteps = steps.Completed.Skip(Warmup).ToList();
    // Rounds are numbered from 1 in step order (no evaluation rounds in these runs).
    var slowestShardCompute = timedSteps.Select(s => computeByRound.GetValueOrDefault(s.Step + 1)).ToList();
    var total = timedSteps.Sum(s => s.Interval * 1000);
    return new Measurement(Batch / Median(timedSteps.Select(s => s.Interval).ToList()), 1 - slowestShardCompute.Sum() / total,
        Median(slowestShardCompute));
}

async Task TransportAsync()
{
    const int Floats = 37_500_000; // 150 MB
    const int Receivers = 2, Repeats = 5;
    var weights = GC.AllocateArray<float>(Floats, pinned: true);
    new Random(1).NextBytes(MemoryMarshal.AsBytes(weights.AsSpan()));
    var megabytes = (double)Floats * sizeof(float) * Receivers / 1e6;
    Console.WriteLine($"\n150 MB weights broadcast to {Receivers} receivers on loopback, {Repeats} repeats (MB/s = {Receivers} x 150 MB / wall time)");

    await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
    var receivers = Enumerable.Range(0, Receivers).Select(_ => TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null)).ToList();
    var channelRates = new List<double>();
    var socketRates = new List<double>();
    for (var repeat = 0; repeat < Repeats + 1; repeat++)
    {
        var clock = Stopwatch.StartNew();
        var fetched = await Task.WhenAll(receivers.Select(r => r.FetchAsync(sender.Publish(weights), weights.Length)));
        var channelRate = megabytes / clock.Elapsed.TotalSeconds;
        if (fetched.Any(f => f.Length != Floats || f[Floats - 1] != weights[Floats - 1])) throw new InvalidOperationException("corrupt transfer");
        var socketRate = await PlainSocketBroadcastAsync(weights, Receivers) / 1e6;
        if (repeat == 0) continue; // warm-up: connection set-up, first-touch page faults
        channelRates.Add(channelRate);
        socketRates.Add(socketRate);
        Console.WriteLine($"  tensor channel {channelRate,7:F0} MB/s   plain TCP socket copy {socketRate,7:F0} MB/s");
    }
    foreach (var receiver in receivers) await receiver.DisposeAsync();
    var channelMedian = Median(channelRates);
    var socketMedian = Median(socketRates);
    Console.WriteLine($"  median: tensor channel {channelMedian:F0} MB/s, plain socket {socketMedian:F0} MB/s, ratio {channelMedian / socketMedian:F2}");
}

// The baseline: a listener that writes the array to each connected client, which reads it into a fresh array.
static async Task<double> PlainSocketBroadcastAsync(float[] weights, int receivers)
{
    var bytes = (long)weights.Length * sizeof(float);
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    var endpoint = (IPEndPoint)listener.LocalEndpoint;
    var clock = Stopwatch.StartNew();
    var serve = Task.Run(async () =>
    {
        var sends = new List<Task>();
        for (var i = 0; i < receivers; i++)
        {
            var client = await listener.AcceptTcpClientAsync();
            sends.Add(Task.Run(() =>
            {
                using (client) client.GetStream().Write(MemoryMarshal.AsBytes(weights.AsSpan()));
            }));
        }
        await Task.WhenAll(sends);
    });
    var reads = Enumerable.Range(0, receivers).Select(_ => Task.Run(() =>
    {
        using var client = new TcpClient();
        client.Connect(endpoint);
        var target = GC.AllocateUninitializedArray<float>(weights.Length);
        client.GetStream().ReadExactly(MemoryMarshal.AsBytes(target.AsSpan()));
        return target;
    })).ToArray();
    await Task.WhenAll(reads);
    await serve;
    return bytes * receivers / clock.Elapsed.TotalSeconds;
}

static Process StartWorker(string dll, int port)
{
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var argument in new[] { dll, "--seed-nodes", $"127.0.0.1:{port}", "--threads", "1" }) start.ArgumentList.Add(argument);
    var process = Process.Start(start)!;
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

// The worker runs from its own project's build output (same configuration as this benchmark): its dependency
// set differs from the benchmark's, so the copy next to this assembly is not runnable.
static string WorkerExecutable()
{
    var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
    var configuration = here.Parent!.Name;
    var root = here;
    while (root is not null && !File.Exists(Path.Combine(root.FullName, "Distributed.sln"))) root = root.Parent;
    var path = Path.Combine(root?.FullName ?? ".", "src", "Worker", "bin", configuration, "net10.0", "distributed-worker.dll");
    return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution in {configuration} first");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static double Median(IReadOnlyList<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

/// <summary>Wall time between consecutive completed steps, with the step each interval ends.</summary>
sealed class StepTimes : ITrainingObserver
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _last = double.NaN;

    public List<(long Step, double Interval)> Completed { get; } = [];

    public void OnStep(StepCompleted step)
    {
        var now = _clock.Elapsed.TotalSeconds;
        if (!double.IsNaN(_last)) Completed.Add((step.Step, now - _last));
        _last = now;
    }
}

/// <summary>One configuration in one round; the compute figure is the median over steps of the slowest shard's compute.</summary>
internal sealed record Measurement(double ImagesPerSecond, double Outside, double ComputeMilliseconds);
