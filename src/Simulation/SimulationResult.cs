namespace Distributed.Simulation;

/// <summary>A finished simulation: its options and plan, each step, and how long it took to simulate.</summary>
public sealed record SimulationResult(
    SimulationOptions Options,
    TrafficPlan Plan,
    IReadOnlyList<SimulatedStep> Steps,
    int ReassignedShards,
    double WallSeconds)
{
    /// <summary>The mean step time, leaving out step 0 when there are more (it also carries the first weights to every worker).</summary>
    public double SteadyStepMilliseconds => Steady.Average(s => s.StepMilliseconds);

    public IEnumerable<SimulatedStep> Steady => Steps.Count > 1 ? Steps.Skip(1) : Steps;
}
