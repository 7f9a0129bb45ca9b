using System.Numerics;
using Distributed.Protocol;

namespace Distributed.ParameterServer;

/// <summary>
/// The per-element arithmetic of one step: the weighted average of the shards and SGD with momentum. Every element is
/// computed with the same operations in the same order wherever a range starts (no fused multiply-add: .NET does not
/// contract a·b + c), so K range servers give bit-identical weights and momentum to one server over the whole state.
/// </summary>
public static class StepArithmetic
{
    /// <summary>
    /// Σ (n_s / N) · buffer_s over the flat indices [offset, offset + destination.Length), summed in the order of
    /// <paramref name="shards"/> (the caller passes them in shard order, so the result is reproducible).
    /// </summary>
    public static void Average(IReadOnlyList<ShardContribution> shards, long totalSamples, int offset, Span<float> destination)
    {
        var length = destination.Length;
        destination.Clear();
        foreach (var shard in shards)
        {
            var weight = (float)((double)shard.Samples / totalSamples);
            var source = shard.Buffer.AsSpan(offset, length);
            var i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var weightVector = new Vector<float>(weight);
                for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var sum = new Vector<float>(destination[i..]) + new Vector<float>(source[i..]) * weightVector;
                    sum.CopyTo(destination[i..]);
                }
            }
            for (; i < length; i++) destination[i] += source[i] * weight;
        }
    }

    /// <summary>
    /// SGD with momentum (PyTorch's formulation): g ← g + λ·mask·w; v ← μv + g; w ← w − η(g + μv) with Nesterov,
    /// w − ηv without. <paramref name="velocity"/> is updated in place; the new weights go to <paramref name="updated"/>.
    /// </summary>
    public static void ApplySgd(ReadOnlySpan<float> weights, ReadOnlySpan<float> gradient, ReadOnlySpan<float> mask, Span<float> velocity,
        Span<float> updated, SgdSettings optimizer, float learningRate)
    {
        var momentum = (float)optimizer.Momentum;
        var decay = (float)optimizer.WeightDecay;
        var nesterov = optimizer.Nesterov;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var momentumVector = new Vector<float>(momentum);
            var decayVector = new Vector<float>(decay);
            var rateVector = new Vector<float>(learningRate);
            for (; i <= weights.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var w = new Vector<float>(weights[i..]);
                var g = new Vector<float>(gradient[i..]) + decayVector * new Vector<float>(mask[i..]) * w;
                var v = momentumVector * new Vector<float>(velocity[i..]) + g;
                v.CopyTo(velocity[i..]);
                var step = nesterov ? g + momentumVector * v : v;
                (w - rateVector * step).CopyTo(updated[i..]);
            }
        }
        for (; i < weights.Length; i++)
        {
            var g = gradient[i] + decay * mask[i] * weights[i];
            var v = momentum * velocity[i] + g;
            velocity[i] = v;
            updated[i] = weights[i] - learningRate * (nesterov ? g + momentum * v : v);
        }
    }

    /// <summary>Σ x² in double, in index order: the gradient norm of one range, before the square root.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (var value in values) sum += (double)value * value;
        return sum;
    }
}
