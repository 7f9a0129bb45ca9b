// Throughput of the system against a bare TorchSharp loop of the same model on the same data, measured
// side by side in one process and interleaved (bench/README.md, platform fact 4: medians drift 5-10% between runs).
using System.Diagnostics;
using Distributed.Bench;
using Distributed.Bench.Shared;
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
using Distributed.Training.Workers;

TorchRuntime.Initialize();
if (args.Length > 0 && args[0] == "compute")
{
    ComputeVariants.Run(args.Length > 1 ? int.Parse(args[1]) : 3, batch: 64, warmup: 10, timed: 40, args.Skip(2).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "compress")
{
    CompressionCost.Run(args.Length > 1 ? int.Parse(args[1]) : 3);
    return;
}
if (args.Length > 1 && args[0] == "trained")
{
    TrainedWeightsProbe.Run(args[1], args.Length > 2 ? int.Parse(args[2]) : 3, batch: 64, steps: 30);
    return;
}
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

double BareLoop(int threads) => BareTrainingLoop.ImagesPerSecond(model, data, Batch, Warmup, Timed, threads);

async Task<double> SystemAsync(int workers, int threadsPerWorker)
{
    var plan = new TrainingPlan(1, Batch, 1, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0), workers,
        TimeSpan.FromMinutes(5), MaxSteps: Warmup + Timed, EvaluateEachEpoch: false);
    var observer = new StepClock();
    var outcome = await TrainingRun.RunAsync(system, new TrainingJob(model, data, plan, SgdSettings.Default, workers, threadsPerWorker, null),
        observer, new InProcessWorkers(workers, threadsPerWorker), CancellationToken.None);
    if (!outcome.Succeeded) throw new InvalidOperationException(outcome.Failed!.Reason);
    return Batch / Median(observer.Intervals.Skip(Warmup).ToList());
}

static double Median(IReadOnlyList<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
