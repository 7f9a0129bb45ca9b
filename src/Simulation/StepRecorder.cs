using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Simulation;

/// <summary>
/// Turns each step the real coordinator reports into a <see cref="SimulatedStep"/>, with the links' tally of that step,
/// and keeps the coordinator's last view of its workers (speculative copies, abandoned shards).
/// </summary>
internal sealed class StepRecorder(TrafficPlan plan, LinkModel links, Func<double> now) : ITrainingObserver
{
    private readonly List<SimulatedStep> _steps = [];

    public IReadOnlyList<SimulatedStep> Steps => _steps;

    public IReadOnlyList<WorkerStatus> Workers { get; private set; } = [];

    public void OnStatus(TrainingStatus status) => Workers = status.Workers;

    public void OnStep(StepCompleted step)
    {
        var tally = links.TakeTally();
        var servers = plan.Path == TransferPath.Direct
            ? Enumerable.Range(0, plan.Servers).Max(s => tally.Bytes(plan.ServerNode(s)))
            : tally.Bytes(TrafficPlan.CoordinatorNode);
        var workers = Enumerable.Range(0, plan.Workers).Average(w => (double)tally.Bytes(plan.WorkerNode(w)));
        var busiest = tally.Busiest();
        var utilization = step.StepMilliseconds > 0 ? tally.BusySeconds(busiest) * 1000 / step.StepMilliseconds : double.NaN;
        _steps.Add(new SimulatedStep(step.Step, step.StepMilliseconds, tally.Bytes(TrafficPlan.CoordinatorNode), servers, workers,
            plan.NodeName(busiest), Math.Max(tally.Sent[busiest], tally.Received[busiest]), utilization, step.Samples, step.SkippedSamples, step.MaxStaleness, now()));
    }
}
