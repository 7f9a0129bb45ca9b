using Akka.Actor;

namespace Distributed.Simulation;

/// <summary>
/// The world the simulated actors share: the traffic plan, the links, the simulated clock, and the size of the
/// small state the real coordinator and parameter server run on. Everything here is touched only from the
/// simulation's one thread (every simulated actor runs inline on it).
/// </summary>
public sealed class SimulatedCluster(TrafficPlan plan, LinkModel links, VirtualScheduler clock, int stateLength, int trainCount)
{
    public TrafficPlan Plan { get; } = plan;
    public LinkModel Links { get; } = links;
    public VirtualScheduler Clock { get; } = clock;

    /// <summary>Floats in the state the real actors keep; enough for every one of up to K servers to own a 16-float slice.</summary>
    public int StateLength { get; } = stateLength;

    public int TrainCount { get; } = trainCount;

    /// <summary>Requests the simulated workers skipped because a newer round's request was queued behind them (answered with WorkFailed, as a real worker does).</summary>
    public int SkippedRequests { get; set; }

    /// <summary>Simulated seconds since the start.</summary>
    public double Now => Clock.Elapsed.TotalSeconds;

    /// <summary>Delivers <paramref name="message"/> at simulated time <paramref name="seconds"/> (now, if that has passed).</summary>
    public void At(double seconds, ICanTell receiver, object message, IActorRef sender) =>
        Clock.ScheduleTellOnce(TimeSpan.FromSeconds(Math.Max(0, seconds - Now)), receiver, message, sender);

    /// <summary>The state length for K servers: 16 floats each, and never less than 64.</summary>
    public static int StateLengthFor(int servers) => TrafficPlan.AlignmentFloats * Math.Max(servers, 4);
}
