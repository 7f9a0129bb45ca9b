using System.Diagnostics;
using System.Numerics;
using Akka.Actor;
using Distributed.Protocol;
using Distributed.Cluster.Transport;

namespace Distributed.ParameterServer;

/// <summary>
/// Owns the authoritative weights and the optimizer state. Each <see cref="ApplyStep"/> carries every shard of
/// one global batch; the shard gradients are averaged weighted by shard size, which makes N workers' result the
/// gradient of the whole global batch, and the workers' normalization running statistics are averaged the
/// same way. The update is then applied once and a new weights version is published.
/// Kept as its own actor so the state can later be split across several servers by parameter range.
/// </summary>
public sealed class ParameterServerActor : ReceiveActor
{
    private readonly SgdSettings _optimizer;
    private readonly int _parameterCount;
    private readonly float[] _decayMask;
    private readonly float[] _momentum;
    private readonly float[] _gradient;
    // Momentum before the update in flight, to restore it when the update is refused.
    private readonly float[] _momentumBefore;
    private float[] _state;
    private long _version;
    private long _stepsApplied;

    public ParameterServerActor(ParameterServerSetup setup)
    {
        _optimizer = setup.Optimizer;
        _parameterCount = setup.ParameterCount;
        _decayMask = setup.DecayMask;
        _state = setup.InitialState;
        _momentum = setup.Momentum ?? new float[_parameterCount];
        _gradient = new float[_parameterCount];
        _momentumBefore = new float[_parameterCount];
        _version = setup.InitialVersion;
        _stepsApplied = setup.InitialVersion;
        Receive<ApplyStep>(HandleApplyStep);
        Receive<GetParameters>(_ => Sender.Tell(new CurrentParameters(_version, _state, (float[])_momentum.Clone(), _stepsApplied)));
    }

    public static Props Props(ParameterServerSetup setup) => Akka.Actor.Props.Create(() => new ParameterServerActor(setup));

    private void HandleApplyStep(ApplyStep message)
    {
        var totalSamples = message.Shards.Sum(s => (long)s.Samples);
        foreach (var shard in message.Shards)
        {
            if (shard.Buffer.Length != _state.Length)
                throw new InvalidOperationException($"step {message.Step} shard {shard.Shard}: buffer has {shard.Buffer.Length} values, the model state has {_state.Length}");
        }

        var started = Stopwatch.GetTimestamp();
        var next = GC.AllocateUninitializedArray<float>(_state.Length);
        AverageShards(message.Shards, totalSamples, 0, _parameterCount, _gradient);
        AverageShards(message.Shards, totalSamples, _parameterCount, _state.Length - _parameterCount, next.AsSpan(_parameterCount));
        // One NaN or infinity would spread through momentum into every weight: such contributions are refused, and
        // the shards that hold them named so that they are computed again. The state stays the last good one.
        if (!FiniteValues.All(_gradient) || !FiniteValues.All(next.AsSpan(_parameterCount)))
        {
            RefuseNonFinite(message);
            return;
        }
        var gradientNorm = Norm(_gradient);
        var averaged = Stopwatch.GetTimestamp();
        // The shard buffers are ours now (ApplyStep hands them over) and are spent: the next step's shards reuse them.
        foreach (var shard in message.Shards) TensorBufferPool.Shared.Return(shard.Buffer);
        var learningRate = message.LearningRate;
        _momentum.AsSpan().CopyTo(_momentumBefore);
        ApplySgd(_state.AsSpan(0, _parameterCount), next.AsSpan(0, _parameterCount), (float)learningRate);
        if (!FiniteValues.All(next.AsSpan(0, _parameterCount)))
        {
            // Finite gradients that still overflow the weights: the model itself diverged. Keep the last good state.
            _momentumBefore.AsSpan().CopyTo(_momentum);
            Sender.Tell(new StepRefused(message.Step, $"the update with learning rate {learningRate:G4} and gradient norm {gradientNorm:G4} makes the weights non-finite"));
            return;
        }
        var applied = Stopwatch.GetTimestamp();

        _state = next;
        _version++;
        _stepsApplied++;
        Sender.Tell(new StepApplied(message.Step, _version, _state, learningRate, gradientNorm,
            Stopwatch.GetElapsedTime(started, averaged).TotalMilliseconds, Stopwatch.GetElapsedTime(averaged, applied).TotalMilliseconds,
            message.IncludeGradient ? (float[])_gradient.Clone() : null));
    }

    /// <summary>
    /// Names the shards whose buffers hold NaN or infinity. Their buffers are spent; the others stay with the
    /// coordinator's round, which sends them again with the recomputed shards.
    /// </summary>
    private void RefuseNonFinite(ApplyStep message)
    {
        var bad = message.Shards.Where(s => !FiniteValues.All(s.Buffer)).ToArray();
        foreach (var shard in bad) TensorBufferPool.Shared.Return(shard.Buffer);
        var where = string.Join(", ", bad.Select(s => $"shard {s.Shard}: {FiniteValues.Describe(s.Buffer, _parameterCount)}"));
        Sender.Tell(new ContributionsRefused(message.Step, bad.Select(s => s.Shard).ToArray(),
            bad.Length > 0 ? where : "the weighted sum overflowed"));
    }

    /// <summary>Σ (n_s / N) · buffer_s over [offset, offset + length), summed in shard order so the result is reproducible.</summary>
    private static void AverageShards(ShardContribution[] shards, long totalSamples, int offset, int length, Span<float> destination)
    {
        destination[..length].Clear();
        foreach (var shard in shards.OrderBy(s => s.Shard))
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
    /// w − ηv without.
    /// </summary>
    private void ApplySgd(ReadOnlySpan<float> weights, Span<float> updated, float learningRate)
    {
        var momentum = (float)_optimizer.Momentum;
        var decay = (float)_optimizer.WeightDecay;
        var nesterov = _optimizer.Nesterov;
        var velocity = _momentum.AsSpan();
        var gradient = _gradient.AsSpan();
        var mask = _decayMask.AsSpan();
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

    private static double Norm(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (var value in values) sum += (double)value * value;
        return Math.Sqrt(sum);
    }
}
