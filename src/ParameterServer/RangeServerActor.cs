using System.Diagnostics;
using Akka.Actor;
using Distributed.Protocol;

namespace Distributed.ParameterServer;

/// <summary>
/// One of the K parameter servers: owns the range [start, end) of the flat state and the momentum of its trainable
/// part. A step comes in two phases (<see cref="PrepareStep"/>, then <see cref="CommitStep"/> or <see cref="AbortStep"/>)
/// so that the <see cref="ParameterServerGroup"/> applies it in every range or in none. Its arithmetic is
/// <see cref="StepArithmetic"/>'s, element by element the same as one server over the whole state.
/// </summary>
public sealed class RangeServerActor : ReceiveActor
{
    private readonly int _index;
    private readonly StateRange _range;
    private readonly int _parameters;
    private readonly SgdSettings _optimizer;
    private readonly float[] _decayMask;
    private readonly float[] _momentum;
    private readonly float[] _gradient;
    // Momentum before the step in flight, to restore it when the step is aborted.
    private readonly float[] _momentumBefore;
    private float[] _state;
    // The step between its two phases, and its tentative new state (null unless every value is finite).
    private long? _pending;
    private float[]? _tentative;

    public RangeServerActor(RangeServerSetup setup)
    {
        _index = setup.Index;
        _range = setup.Range;
        _parameters = setup.Momentum.Length;
        if (setup.State.Length != _range.Length || setup.DecayMask.Length != _parameters || _parameters > _range.Length)
        {
            throw new ArgumentException($"parameter server {_index} {_range}: {setup.State.Length} state values, {_parameters} momentum " +
                $"and {setup.DecayMask.Length} decay-mask values do not fit a range of {_range.Length}");
        }
        _optimizer = setup.Optimizer;
        _decayMask = setup.DecayMask;
        _momentum = setup.Momentum;
        _state = setup.State;
        _gradient = new float[_parameters];
        _momentumBefore = new float[_parameters];
        Receive<PrepareStep>(HandlePrepare);
        Receive<CommitStep>(HandleCommit);
        Receive<AbortStep>(HandleAbort);
        Receive<GetRange>(_ => Sender.Tell(new CurrentRange(_index, _state, (float[])_momentum.Clone())));
    }

    public static Props Props(RangeServerSetup setup) => Akka.Actor.Props.Create(() => new RangeServerActor(setup));

    private void HandlePrepare(PrepareStep message)
    {
        if (_pending is { } open)
            throw new InvalidOperationException($"parameter server {_index} {_range}: step {message.Step} arrived while step {open} is neither committed nor aborted");
        var started = Stopwatch.GetTimestamp();
        _pending = message.Step;
        _tentative = null;
        _momentum.AsSpan().CopyTo(_momentumBefore);

        var totalSamples = message.Shards.Sum(s => (long)s.Samples);
        var shards = message.Shards.OrderBy(s => s.Shard).ToArray();
        var next = GC.AllocateUninitializedArray<float>(_range.Length);
        StepArithmetic.Average(shards, totalSamples, _range.Start, _gradient);
        StepArithmetic.Average(shards, totalSamples, _range.Start + _parameters, next.AsSpan(_parameters));
        // One NaN or infinity would spread through momentum into every weight: the shards whose range holds one are named.
        if (!FiniteValues.All(_gradient) || !FiniteValues.All(next.AsSpan(_parameters)))
        {
            Sender.Tell(new StepPrepared(message.Step, _index, PrepareOutcome.NonFinite, double.NaN, null, null, FindNonFinite(shards)));
            return;
        }
        var sumOfSquares = StepArithmetic.SumOfSquares(_gradient);
        var averaged = Stopwatch.GetTimestamp();
        StepArithmetic.ApplySgd(_state.AsSpan(0, _parameters), _gradient, _decayMask, _momentum, next.AsSpan(0, _parameters),
            _optimizer, (float)message.LearningRate);
        var applied = Stopwatch.GetTimestamp();
        // Finite gradients that still overflow the weights: the model itself diverged.
        var outcome = FiniteValues.All(next.AsSpan(0, _parameters)) ? PrepareOutcome.Ready : PrepareOutcome.Diverged;
        if (outcome == PrepareOutcome.Ready) _tentative = next;
        Sender.Tell(new StepPrepared(message.Step, _index, outcome, sumOfSquares, _tentative,
            message.IncludeGradient && outcome == PrepareOutcome.Ready ? (float[])_gradient.Clone() : null, [],
            Stopwatch.GetElapsedTime(started, averaged).TotalMilliseconds, Stopwatch.GetElapsedTime(averaged, applied).TotalMilliseconds));
    }

    private void HandleCommit(CommitStep message)
    {
        if (_pending != message.Step || _tentative is null)
            throw new InvalidOperationException($"parameter server {_index} {_range}: commit of step {message.Step}, which it has not prepared as ready");
        // The tentative array went to the group, which publishes it: it is never written again, the next step has its own.
        _state = _tentative;
        _tentative = null;
        _pending = null;
    }

    private void HandleAbort(AbortStep message)
    {
        // An abort for a step this server never began (it failed first, or it already aborted) changes nothing.
        if (_pending != message.Step) return;
        _momentumBefore.AsSpan().CopyTo(_momentum);
        _tentative = null;
        _pending = null;
    }

    /// <summary>Each shard's non-finite values inside this range, with flat-state indices.</summary>
    private NonFiniteFinding[] FindNonFinite(IEnumerable<ShardContribution> shards)
    {
        var findings = new List<NonFiniteFinding>();
        foreach (var shard in shards)
        {
            var values = shard.Buffer.AsSpan(_range.Start, _range.Length);
            var (count, first) = FiniteValues.Count(values);
            if (count > 0) findings.Add(new NonFiniteFinding(shard.Shard, count, _range.Start + first, values[first]));
        }
        return findings.ToArray();
    }
}
