using Distributed.Protocol;

namespace Distributed.Worker.Faults;

/// <summary>What a rehearsed NaN or slowness does to a finished shard. Runs on the compute thread, so a slow shard really holds it.</summary>
public static class FaultEffects
{
    /// <param name="sleep">How to wait; the compute thread sleeps (tests pass a recorder).</param>
    public static WorkCompleted Apply(WorkCompleted completed, bool poison, double slowdown, Action<TimeSpan> sleep)
    {
        if (slowdown > 1)
        {
            // "Takes F times as long": the measured compute, then F-1 times that again.
            sleep(TimeSpan.FromMilliseconds(completed.ComputeMilliseconds * (slowdown - 1)));
            completed = completed with { ComputeMilliseconds = completed.ComputeMilliseconds * slowdown };
        }
        if (!poison) return completed;
        if (completed.Buffer is { } buffer) Array.Fill(buffer, float.NaN);
        return completed with { LossSum = double.NaN };
    }
}
