// Throughput of the system against a bare TorchSharp loop of the same model on the same data, measured
// side by side in one process and interleaved (shared/perf-notes.md section 4: medians drift 5-10% between runs).
using System.Diagnostics;
using Distributed.Bench;
using Distributed.Coordinator.Hosting;
using Distributed.Coordinator.Training;
using Distributed.Model.Data;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Worker;
using TorchSharp;
using static TorchSharp.torch;

TorchRuntime.Initialize();
var rounds = args.Length > 0 ? int.Parse(args[0]) : 2;
const int Batch = 128, Warmup = 10, Timed = 40;
var model = ModelSpec.ResNet20FashionMnist;
var data = new DataSpec(DatasetCatalog.FashionMnistName, null, 2, true);
var cores = Environment.ProcessorCount;

Console.WriteLine($"ResNet-20 ({model.Name}), Fashion-MNIST, global batch {Batch}, {cores} cores, malloc tuned: {TorchRuntime.MallocTuned}");
Console.WriteLine($"img/s = global batch / median step time over {Timed} steps after {Warmup} warm-up steps\n");

using var host = TrainingHost.BuildLocal();
await host.StartAsync();
var system = TrainingHost.ActorSystemOf(host);
var results = new Dictionary<string, List<double>>();
void Record(string name, double value)
{
    if (!results.TryGetValue(name, out var list)) results[name] = list = [];
    list.Add(value);
    Console.WriteLine($"  {name,-36} {value,7:F0} img/s");
}

for (var round = 1; round <= rounds; round++)
{
    Console.WriteLine($"round {round}");
    Record($"bare TorchSharp loop, {cores} threads", BareLoop(cores));
    Record($"system, 1 worker x {cores} threads", await SystemAsync(1, cores));
    Record($"system, {cores} workers x 1 thread", await SystemAsync(cores, 1));
}

Console.WriteLine("\nsummary (median of rounds)");
var bare = Median(results.First().Value);
foreach (var (name, values) in results)
    Console.WriteLine($"  {name,-36} {Median(values),7:F0} img/s   {Median(values) / bare,5:F2}x bare   runs: {string.Join(", ", values.Select(v => v.ToString("F0")))}");
await host.StopAsync();

double BareLoop(int threads)
{
    double result = 0;
    var thread = new Thread(() =>
    {
        TorchRuntime.UseThreadsOnThisThread(threads);
        var prepared = PreparedData.Get(data);
        var assembler = new BatchAssembler(prepared.Train, prepared.Normalization, prepared.Augmentation, 1);
        using var net = new CifarResNet(model, 1);
        using var optimizer = optim.SGD(net.parameters(), 0.05, momentum: 0.9, nesterov: true, weight_decay: 5e-4);
        var images = new float[Batch * prepared.Train.SampleSize];
        var labels = new long[Batch];
        var order = Enumerable.Range(0, prepared.Train.Count).ToArray();
        var times = new List<double>();
        net.train();
        for (var step = 0; step < Warmup + Timed; step++)
        {
            var clock = Stopwatch.StartNew();
            using var scope = NewDisposeScope();
            assembler.Fill(order.AsSpan(step * Batch, Batch), 0, images, labels);
            var x = tensor(images, [Batch, 1, 28, 28]);
            var y = tensor(labels);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(net.forward(x), y);
            loss.backward();
            optimizer.step();
            loss.item<float>();
            if (step >= Warmup) times.Add(clock.Elapsed.TotalSeconds);
        }
        result = Batch / Median(times);
    });
    thread.Start();
    thread.Join();
    return result;
}

async Task<double> SystemAsync(int workers, int threadsPerWorker)
{
    var plan = new TrainingPlan(1, Batch, 1, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0), workers,
        TimeSpan.FromMinutes(5), MaxSteps: Warmup + Timed, EvaluateEachEpoch: false);
    var observer = new StepClock();
    var outcome = await TrainingRun.RunAsync(system, new TrainingJob(model, data, plan, SgdSettings.Default, workers, threadsPerWorker, null),
        observer, startLocalWorkers: true, CancellationToken.None);
    if (!outcome.Succeeded) throw new InvalidOperationException(outcome.Failed!.Reason);
    return Batch / Median(observer.Intervals.Skip(Warmup).ToList());
}

static double Median(IReadOnlyList<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
