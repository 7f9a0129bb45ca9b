using Distributed.Protocol;

namespace Distributed.ParameterServer;

/// <summary>
/// The group's side of one step's two phases: collects the K <see cref="StepPrepared"/> answers and decides. Any
/// non-finite contribution refuses the contributions (the shards are computed again); otherwise any diverged range
/// refuses the step; otherwise the step commits and the K tentative ranges make the new flat state.
/// </summary>
public sealed class StepVote
{
    private readonly IReadOnlyList<StateRange> _ranges;
    private readonly StepPrepared?[] _answers;
    private int _answered;

    public StepVote(long step, IReadOnlyList<StateRange> ranges)
    {
        Step = step;
        _ranges = ranges;
        _answers = new StepPrepared?[ranges.Count];
    }

    public enum Verdict { Commit, RefuseContributions, RefuseStep, RecomputeContributions }

    public long Step { get; }

    public bool IsComplete => _answered == _answers.Length;

    /// <summary>Records one server's answer; an answer for another step, from an unknown server or a second one is ignored.</summary>
    public bool Record(StepPrepared answer)
    {
        if (answer.Step != Step || answer.Server < 0 || answer.Server >= _answers.Length || _answers[answer.Server] is not null) return false;
        // Ready with its tentative range's values, or (a range server on a server node, values not needed) with where it serves them.
        var length = _ranges[answer.Server].Length;
        if (answer.Outcome == PrepareOutcome.Ready && (answer.State is null ? answer.StateHandle?.Length != length : answer.State.Length != length))
            throw new InvalidOperationException($"parameter server {answer.Server} {_ranges[answer.Server]} answered step {Step} ready with " +
                $"{answer.State?.Length ?? answer.StateHandle?.Length ?? 0} values");
        _answers[answer.Server] = answer;
        _answered++;
        return true;
    }

    public Verdict Decide()
    {
        var answers = Answers();
        // A range that could not read some shards did not check the others for NaN: those lost come first, and a
        // non-finite one among the rest is found when the step is prepared again.
        if (answers.Any(a => a.Outcome == PrepareOutcome.Unreadable)) return Verdict.RecomputeContributions;
        if (answers.Any(a => a.Outcome == PrepareOutcome.NonFinite)) return Verdict.RefuseContributions;
        return answers.Any(a => a.Outcome == PrepareOutcome.Diverged) ? Verdict.RefuseStep : Verdict.Commit;
    }

    /// <summary>
    /// √(Σ of the K ranges' sums of squares). Summed per range and then across ranges, it may differ from one server's
    /// sum over the whole gradient in the last bits; it is reported, never applied, so the weights do not depend on it.
    /// </summary>
    public double GradientNorm() => Math.Sqrt(Answers().Sum(a => a.SumOfSquares));

    /// <summary>The shards with a non-finite value in any range, in shard order, each described as one server over the whole state would.</summary>
    public (int[] Shards, string Reason) NonFiniteShards(int parameterCount)
    {
        var byShard = Answers().SelectMany(a => a.Findings).GroupBy(f => f.Shard).OrderBy(g => g.Key).ToList();
        if (byShard.Count == 0) return ([], "the weighted sum overflowed");
        var reason = string.Join(", ", byShard.Select(g =>
        {
            var first = g.MinBy(f => f.FirstIndex)!;
            return $"shard {g.Key}: {FiniteValues.Describe(g.Sum(f => f.Count), first.FirstIndex, first.FirstValue, parameterCount)}";
        }));
        return (byShard.Select(g => g.Key).ToArray(), reason);
    }

    /// <summary>The shards whose results some range could not read, in shard order, and why (each range's reason once).</summary>
    public (int[] Shards, string Reason) LostShards()
    {
        var unreadable = Answers().Where(a => a.Outcome == PrepareOutcome.Unreadable).ToArray();
        var shards = unreadable.SelectMany(a => a.LostShards ?? []).Distinct().Order().ToArray();
        return (shards, string.Join("; ", unreadable.Select(a => a.LostReason ?? $"parameter server {a.Server} could not read them").Distinct()));
    }

    /// <summary>The committed flat state: every server's tentative range in place; null when a server sent only its handle.</summary>
    public float[]? AssembleState(int stateLength)
    {
        if (Answers().Any(a => a.State is null)) return null;
        // One server's tentative range is the whole state, and it never writes that array again: no copy.
        if (_answers.Length == 1) return Answers()[0].State!;
        var state = GC.AllocateUninitializedArray<float>(stateLength);
        foreach (var answer in Answers()) answer.State!.CopyTo(state.AsSpan(_ranges[answer.Server].Start));
        return state;
    }

    /// <summary>Where each range of the committed state is served, when every server serves it (range servers on server nodes), else null.</summary>
    public StateRangeHandle[]? StateRanges()
    {
        var answers = Answers();
        return answers.Any(a => a.StateHandle is null) ? null
            : answers.OrderBy(a => a.Server).Select(a => new StateRangeHandle(_ranges[a.Server].Start, a.StateHandle!)).ToArray();
    }

    /// <summary>The averaged gradient when every server sent its part (health steps), else null.</summary>
    public float[]? AssembleGradient(int parameterCount)
    {
        var answers = Answers();
        if (answers.Any(a => a.Gradient is null)) return null;
        var gradient = new float[parameterCount];
        foreach (var answer in answers) answer.Gradient!.CopyTo(gradient.AsSpan(_ranges[answer.Server].Start));
        return gradient;
    }

    /// <summary>The slowest server's averaging and optimizer times: the step waits for it.</summary>
    public (double Aggregation, double Optimizer) SlowestTimings() =>
        (Answers().Max(a => a.AggregationMilliseconds), Answers().Max(a => a.OptimizerMilliseconds));

    private StepPrepared[] Answers() =>
        IsComplete ? _answers.Select(a => a!).ToArray() : throw new InvalidOperationException($"step {Step}: {_answered} of {_answers.Length} servers answered");
}
