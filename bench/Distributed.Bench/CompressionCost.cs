using System.Diagnostics;
using Distributed.Cluster.Transport;
using Distributed.Protocol;
using Distributed.Worker;

namespace Distributed.Bench;

/// <summary>
/// What `--compress` costs per training shard for ResNet-20 (269,434 gradient values, 1,376 running statistics):
/// the worker's rounding with error feedback, the endpoint's packing and the proxy's unpacking, against the plain
/// copy that `--compress none` does, and against rounding one value at a time through <see cref="Half"/> (what the
/// vector lanes replace). Variants interleave round by round (bench/README.md, platform fact 4). `bench compress [rounds]`.
/// </summary>
public static class CompressionCost
{
    private const int ParameterCount = 269_434, StateLength = 270_810, Repeats = 200;

    public static void Run(int rounds)
    {
        var random = new Random(1);
        var gradient = Enumerable.Range(0, ParameterCount).Select(_ => (float)(random.NextDouble() - 0.5) * 1e-2f).ToArray();
        var buffer = new float[StateLength];
        var pool = new TensorBufferPool(maxRetainedBytes: 64L << 20);
        var variants = new (string Name, Action Step)[]
        {
            ("copy (none)", () => gradient.AsSpan().CopyTo(buffer)),
            ("round fp16 + feedback", Rounding(GradientCompression.Float16, gradient, buffer)),
            ("round bf16 + feedback", Rounding(GradientCompression.BFloat16, gradient, buffer)),
            ("scalar Half round + feedback", ScalarHalf(gradient, buffer)),
            ("pack + unpack fp16", Packing(GradientCompression.Float16, buffer, pool)),
            ("pack + unpack bf16", Packing(GradientCompression.BFloat16, buffer, pool)),
        };
        var medians = variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, step) in variants)
            {
                for (var i = 0; i < 20; i++) step();
                var times = new double[Repeats];
                for (var i = 0; i < Repeats; i++)
                {
                    var clock = Stopwatch.GetTimestamp();
                    step();
                    times[i] = Stopwatch.GetElapsedTime(clock).TotalMicroseconds;
                }
                Array.Sort(times);
                medians[name].Add(times[Repeats / 2]);
            }
        }
        Console.WriteLine($"per shard result, {ParameterCount:N0} gradient values; median of {Repeats} per round, rounds: {rounds}");
        foreach (var (name, values) in medians)
            Console.WriteLine($"  {name,-30} {string.Join("  ", values.Select(v => $"{v,7:F0} µs"))}");
    }

    private static Action Rounding(GradientCompression compression, float[] gradient, float[] buffer)
    {
        var compressor = new GradientCompressor(compression, ParameterCount);
        return () => compressor.Compress(gradient, buffer.AsSpan(0, ParameterCount));
    }

    private static Action ScalarHalf(float[] gradient, float[] buffer)
    {
        var residual = new float[ParameterCount];
        return () =>
        {
            for (var i = 0; i < ParameterCount; i++)
            {
                var target = gradient[i] + residual[i];
                var sent = GradientCompressor.RoundToFloat16(target);
                buffer[i] = sent;
                residual[i] = target - sent;
            }
        };
    }

    private static Action Packing(GradientCompression compression, float[] buffer, TensorBufferPool pool) => () =>
    {
        var wire = GradientEncoding.Encode(buffer, ParameterCount, compression, pool);
        var decoded = GradientEncoding.Decode(wire, StateLength, ParameterCount, compression, pool);
        pool.Return(wire);
        pool.Return(decoded);
    };
}
