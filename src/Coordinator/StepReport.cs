using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>What operators see of a finished round: where its time went and, on health steps, the gradient sample (the applied shards only).</summary>
public static class StepReport
{
    public static StepTimings Timings<TWorker>(RoundBook<TWorker>.Round round, StepApplied applied, double stepMilliseconds) where TWorker : class =>
        new(round.Step, round.Epoch, round.StartedMilliseconds, round.ShardsDoneMilliseconds, stepMilliseconds,
            applied.AggregationMilliseconds, applied.OptimizerMilliseconds,
            round.Answered.Select(s => new ShardTiming(s.Index, s.CompletedBy ?? "unknown", s.Result!.Samples, s.WinnerSentMilliseconds,
                s.ReceivedMilliseconds, s.Result.ComputeMilliseconds, s.Result.HealthMilliseconds, s.Attempts, s.Result.ComputeCpuMilliseconds)).ToArray());

    /// <summary>
    /// The mean over the applied shards of the workers' compute time and of their compute threads' CPU time (0 when a
    /// worker did not measure it): compute well above CPU time means the threads waited for a core.
    /// </summary>
    public static (double Compute, double Cpu) MeanCompute<TWorker>(RoundBook<TWorker>.Round round) where TWorker : class
    {
        var results = round.Answered.Select(s => s.Result!).ToArray();
        if (results.Length == 0) return (0, 0);
        var cpu = results.All(r => r.ComputeCpuMilliseconds > 0) ? results.Average(r => r.ComputeCpuMilliseconds) : 0;
        return (results.Average(r => r.ComputeMilliseconds), cpu);
    }

    public static HealthSample? Health<TWorker>(RoundBook<TWorker>.Round round, StepApplied applied, float[] weightsBefore) where TWorker : class =>
        applied is { Gradient: { } gradient, State: { } state }
            ? new HealthSample(round.Step, round.Epoch, weightsBefore, state, gradient,
                round.Answered.Select(s => s.Result!.Health).OfType<ShardHealth>().ToArray(), applied.LearningRate)
            : null;
}
