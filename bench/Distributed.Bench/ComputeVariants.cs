// Per-thread compute of one worker (issue 15): ResNet-20 forward + backward at 1 libtorch thread, batch 64, in
// fp32 and bf16, default (NCHW) and channels-last strides, measured interleaved in one process.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Distributed.Model.Data;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Worker;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distributed.Bench;

public static partial class ComputeVariants
{
    /// <summary>
    /// One way to run the same step. Bare variants convert a <see cref="CifarResNet"/> whole (as the issue's PyTorch
    /// table did); <paramref name="WorkerPath"/> runs what a worker runs: <see cref="FlatReplica"/> + <see cref="ComputeNet"/>
    /// (normalization in fp32, weights copied in and gradients copied out to fp32 each step).
    /// </summary>
    public sealed record Variant(string Name, ScalarType Dtype, bool ChannelsLast, bool WorkerPath = false, bool NormInBf16 = false);

    public static readonly Variant[] All =
    [
        new("fp32", ScalarType.Float32, false),
        new("fp32, channels-last", ScalarType.Float32, true),
        new("bf16 (whole model)", ScalarType.BFloat16, false),
        new("bf16 + channels-last", ScalarType.BFloat16, true),
        new("worker step, fp32", ScalarType.Float32, false, WorkerPath: true),
        new("worker step, fp32, channels-last", ScalarType.Float32, true, WorkerPath: true),
        new("worker step, bf16", ScalarType.BFloat16, false, WorkerPath: true),
        new("worker step, bf16 + channels-last", ScalarType.BFloat16, true, WorkerPath: true),
        new("worker step, bf16, norm in bf16", ScalarType.BFloat16, false, WorkerPath: true, NormInBf16: true),
    ];

    /// <param name="only">Run only the variants whose names contain one of these (all when empty).</param>
    public static void Run(int rounds, int batch, int warmup, int timed, IReadOnlyList<string> only)
    {
        var variants = only.Count == 0 ? All : All.Where(v => v == All[0] || only.Any(o => v.Name.Contains(o, StringComparison.Ordinal))).ToArray();
        var model = ModelSpec.ResNet20FashionMnist;
        var data = new DataSpec(DatasetCatalog.FashionMnistName, null, 2, true);
        Console.WriteLine($"per-thread compute: {model.Name}, 1 libtorch thread, batch {batch}, forward + backward (no optimizer), " +
            $"img/s = batch / median step over {timed} steps after {warmup} warm-up");
        // bf16 rows mean nothing without bf16 units: libtorch emulates it, an order of magnitude slower.
        Console.WriteLine($"this CPU's bf16 units: {Bf16Hardware.Units} ({Bf16Hardware.OnThisCpu})");
        var results = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var cpuResults = variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            // Rotate the starting variant so no variant always runs right after the same one.
            var order = variants.Skip((round - 1) % variants.Length).Concat(variants.Take((round - 1) % variants.Length)).ToArray();
            Console.WriteLine($"round {round}");
            foreach (var variant in order)
            {
                var (wall, cpu) = OnComputeThread(() => ImagesPerSecond(variant, model, data, batch, warmup, timed));
                results[variant.Name].Add(wall);
                cpuResults[variant.Name].Add(cpu);
                Console.WriteLine($"  {variant.Name,-34} {wall,7:F0} img/s wall  {cpu,7:F0} img per CPU-second");
            }
        }
        Summarize("wall clock (img/s)", variants, results);
        Summarize("thread CPU time (img per CPU-second of the compute thread: what the load on a shared machine distorts least)", variants, cpuResults);
    }

    private static void Summarize(string title, Variant[] variants, Dictionary<string, List<double>> results)
    {
        Console.WriteLine($"\nsummary, {title}: median of rounds, and the median of same-round ratios to fp32");
        var fp32 = results[All[0].Name];
        foreach (var variant in variants)
        {
            var values = results[variant.Name];
            var ratios = values.Select((v, i) => v / fp32[i]).ToList();
            Console.WriteLine($"  {variant.Name,-34} {Median(values),7:F0} img/s  {Median(ratios),5:F2}x fp32   " +
                $"rounds: {string.Join(", ", values.Select(v => v.ToString("F0")))}; ratios: {string.Join(", ", ratios.Select(r => r.ToString("F2")))}");
        }
    }

    private static (double, double) OnComputeThread(Func<(double, double)> body)
    {
        (double, double) result = default;
        var thread = new Thread(() =>
        {
            TorchRuntime.UseThreadsOnThisThread(1);
            result = body();
        });
        thread.Start();
        thread.Join();
        return result;
    }

    private static (double Wall, double Cpu) ImagesPerSecond(Variant variant, ModelSpec model, DataSpec data, int batch, int warmup, int timed)
    {
        if (variant.WorkerPath) return WorkerStep(variant, model, data, batch, warmup, timed);
        var prepared = PreparedData.Get(data);
        var assembler = new BatchAssembler(prepared.Train, prepared.Normalization, prepared.Augmentation, 1);
        using var net = new CifarResNet(model, 1);
        if (variant.Dtype != ScalarType.Float32) net.to(variant.Dtype);
        if (variant.ChannelsLast)
        {
            using var noGrad = no_grad();
            foreach (var conv in net.modules().OfType<Conv2d>()) conv.weight.set_(ChannelsLast(conv.weight));
        }
        var images = new float[batch * prepared.Train.SampleSize];
        var labels = new long[batch];
        var order = Enumerable.Range(0, prepared.Train.Count).ToArray();
        var times = new List<double>();
        var cpuTimes = new List<double>();
        net.train();
        if (variant.ChannelsLast) ReportLayout(variant, net);
        for (var step = 0; step < warmup + timed; step++)
        {
            var clock = Stopwatch.StartNew();
            var cpuStart = ThreadCpuSeconds();
            using var scope = NewDisposeScope();
            assembler.Fill(order.AsSpan(step * batch % (order.Length - batch), batch), 0, images, labels);
            var x = tensor(images, [batch, model.InputChannels, model.ImageHeight, model.ImageWidth]).to(variant.Dtype);
            if (variant.ChannelsLast) x = ChannelsLast(x);
            var y = tensor(labels);
            net.zero_grad();
            var loss = nn.functional.cross_entropy(net.forward(x).to(ScalarType.Float32), y);
            loss.backward();
            loss.item<float>();
            if (step >= warmup)
            {
                times.Add(clock.Elapsed.TotalSeconds);
                cpuTimes.Add(ThreadCpuSeconds() - cpuStart);
            }
        }
        return (batch / Median(times), batch / Median(cpuTimes));
    }

    private static (double Wall, double Cpu) WorkerStep(Variant variant, ModelSpec model, DataSpec data, int batch, int warmup, int timed)
    {
        var prepared = PreparedData.Get(data);
        var assembler = new BatchAssembler(prepared.Train, prepared.Normalization, prepared.Augmentation, 1);
        var spec = model with { Precision = variant.Dtype == ScalarType.BFloat16 ? Precision.BFloat16 : Precision.Float32, ChannelsLast = variant.ChannelsLast };
        using var replica = new FlatReplica(spec, 1);
        using var net = new ComputeNet(replica, variant.NormInBf16);
        var images = new float[batch * prepared.Train.SampleSize];
        var labels = new long[batch];
        var order = Enumerable.Range(0, prepared.Train.Count).ToArray();
        var times = new List<double>();
        var cpuTimes = new List<double>();
        for (var step = 0; step < warmup + timed; step++)
        {
            var clock = Stopwatch.StartNew();
            var cpuStart = ThreadCpuSeconds();
            using var scope = NewDisposeScope();
            assembler.Fill(order.AsSpan(step * batch % (order.Length - batch), batch), 0, images, labels);
            var x = tensor(images, [batch, model.InputChannels, model.ImageHeight, model.ImageWidth]);
            var y = tensor(labels);
            replica.ZeroGradients();
            net.Model.train();
            var loss = nn.functional.cross_entropy(net.Forward(x), y);
            loss.backward();
            net.CollectGradients();
            loss.item<float>();
            if (step >= warmup)
            {
                times.Add(clock.Elapsed.TotalSeconds);
                cpuTimes.Add(ThreadCpuSeconds() - cpuStart);
            }
        }
        return (batch / Median(times), batch / Median(cpuTimes));
    }

    /// <summary>Shows that libtorch keeps NHWC through a convolution, i.e. that the strides are not lost on the way.</summary>
    private static void ReportLayout(Variant variant, CifarResNet net)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var conv = net.modules().OfType<Conv2d>().ElementAt(1);
        var input = ChannelsLast(randn(2, conv.weight.shape[1], 28, 28).to(variant.Dtype));
        var output = conv.forward(input);
        Console.WriteLine($"    ({variant.Name}: conv output strides [{string.Join(", ", output.stride())}], " +
            $"{(output.stride(1) == 1 ? "channels-last kept" : "back to NCHW")})");
    }

    /// <summary>The calling thread's CPU time in seconds (<see cref="ThreadCpuTime"/>).</summary>
    public static double ThreadCpuSeconds() => ThreadCpuTime.Milliseconds() / 1e3;

    private static Tensor ChannelsLast(Tensor x) => ComputeNet.ChannelsLast(x);

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
