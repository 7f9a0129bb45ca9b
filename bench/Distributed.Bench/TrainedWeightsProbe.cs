// Step-time drift (issue 15): is a step slower on trained weights than on initial ones, and does flushing
// denormals to zero change that? Forward + backward of one worker's shard, thread CPU time, interleaved.
using Distributed.Model.Data;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Training.Checkpoints;
using Distributed.Worker;
using static TorchSharp.torch;

namespace Distributed.Bench;

public static class TrainedWeightsProbe
{
    /// <param name="checkpointPath">A run's checkpoint (trained weights), or "none" to compare only fresh weights with and without an evaluation pass first.</param>
    public static void Run(string checkpointPath, int rounds, int batch, int steps)
    {
        var checkpoint = checkpointPath == "none" ? null : Checkpoint.Read(checkpointPath);
        var spec = (checkpoint?.Header.Model ?? ModelSpec.ResNet20FashionMnist) with { Precision = Precision.Float32, ChannelsLast = false };
        var data = new DataSpec(DatasetCatalog.FashionMnistName, null, 0, false);
        Console.WriteLine($"trained weights: {checkpointPath} (step {checkpoint?.Header.Step}, {spec.Name}, {spec.Precision}); " +
            $"1 libtorch thread, batch {batch}, forward + backward, median over {steps} steps; ms of thread CPU time (wall in brackets)");
        if (checkpoint is not null) Console.WriteLine($"denormal values in the trained state: {Denormals(checkpoint.State)} of {checkpoint.State.Length}");
        var cases = new (string Name, bool Trained, bool FlushDenormals, bool EvaluateFirst)[]
        {
            ("initial weights", false, false, false), ("initial weights, after an evaluation", false, false, true),
            ("trained weights", true, false, false), ("trained weights, after an evaluation", true, false, true),
            ("initial weights, denormals flushed", false, true, false), ("trained weights, denormals flushed", true, true, false),
        };
        if (checkpoint is null) cases = cases.Where(c => !c.Trained).ToArray();
        var results = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"round {round}");
            foreach (var (name, trained, flush, evaluateFirst) in round % 2 == 1 ? cases : cases.Reverse())
            {
                (double Cpu, double Wall, long Denormal) result = default;
                var thread = new Thread(() =>
                {
                    TorchRuntime.UseThreadsOnThisThread(1);
                    if (flush) TorchRuntime.FlushDenormalsOnThisThread();
                    result = Measure(spec, data, trained ? checkpoint!.State : null, batch, steps, evaluateFirst);
                });
                thread.Start();
                thread.Join();
                results[name].Add(result.Cpu);
                Console.WriteLine($"  {name,-36} {result.Cpu * 1e3,7:F1} ms ({result.Wall * 1e3:F1}); denormal gradients {result.Denormal}");
            }
        }
        Console.WriteLine("\nsummary (median of rounds, CPU ms per step; ratio to initial weights without flushing, same round)");
        var baseline = results[cases[0].Name];
        foreach (var (name, _, _, _) in cases)
        {
            var values = results[name];
            Console.WriteLine($"  {name,-36} {Median(values) * 1e3,7:F1} ms  {Median(values.Select((v, i) => v / baseline[i]).ToList()),5:F2}x   " +
                $"rounds: {string.Join(", ", values.Select(v => (v * 1e3).ToString("F1")))}");
        }
    }

    private static (double Cpu, double Wall, long Denormal) Measure(ModelSpec spec, DataSpec data, float[]? state, int batch, int steps, bool evaluateFirst)
    {
        var prepared = PreparedData.Get(data);
        var assembler = new BatchAssembler(prepared.Train, prepared.Normalization, prepared.Augmentation, 1);
        using var replica = new FlatReplica(spec, 1);
        using var net = new ComputeNet(replica);
        if (evaluateFirst) Evaluate(replica, prepared, 5000);
        var images = new float[batch * prepared.Train.SampleSize];
        var labels = new long[batch];
        var order = Enumerable.Range(0, prepared.Train.Count).ToArray();
        var cpu = new List<double>();
        var wall = new List<double>();
        long denormal = 0;
        for (var step = 0; step < steps + 5; step++)
        {
            // The same weights every step: the probe asks about weights, not about how they move.
            if (state is not null) replica.LoadState(state);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var cpuStart = ComputeVariants.ThreadCpuSeconds();
            using var scope = NewDisposeScope();
            assembler.Fill(order.AsSpan(step * batch % (order.Length - batch), batch), 0, images, labels);
            replica.ZeroGradients();
            net.Model.train();
            var loss = nn.functional.cross_entropy(net.Forward(tensor(images, [batch, 1, 28, 28])), tensor(labels));
            loss.backward();
            net.CollectGradients();
            loss.item<float>();
            if (step < 5) continue;
            cpu.Add(ComputeVariants.ThreadCpuSeconds() - cpuStart);
            wall.Add(clock.Elapsed.TotalSeconds);
            denormal += Denormals(replica.Gradients);
        }
        return (Median(cpu), Median(wall), denormal / steps);
    }

    /// <summary>What a worker does between epochs: forward-only passes over its half of the test set in batches of 128.</summary>
    private static void Evaluate(FlatReplica replica, PreparedData prepared, int count)
    {
        var assembler = new BatchAssembler(prepared.Test, prepared.Normalization, Augmentation.None, 1);
        var images = new float[128 * prepared.Test.SampleSize];
        var labels = new long[128];
        var order = Enumerable.Range(0, count).ToArray();
        replica.Model.eval();
        using var noGrad = no_grad();
        for (var start = 0; start + 128 <= count; start += 128)
        {
            using var scope = NewDisposeScope();
            assembler.Fill(order.AsSpan(start, 128), 0, images, labels);
            replica.Model.forward(tensor(images, [128, 1, 28, 28])).argmax(1).sum().item<long>();
        }
    }

    private static long Denormals(float[] values) => values.LongCount(v => v != 0 && float.IsSubnormal(v));

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
