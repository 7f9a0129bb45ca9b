using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Observability.Reporting;

/// <summary>Fans one stream of progress out to several observers.</summary>
public sealed class CompositeObserver(params ITrainingObserver[] observers) : ITrainingObserver
{
    public void OnStep(StepCompleted step) { foreach (var o in observers) o.OnStep(step); }
    public void OnEpoch(EpochCompleted epoch) { foreach (var o in observers) o.OnEpoch(epoch); }
    public void OnNotice(TrainingNotice notice) { foreach (var o in observers) o.OnNotice(notice); }
    public void OnTimings(StepTimings timings) { foreach (var o in observers) o.OnTimings(timings); }
    public void OnHealth(HealthSample health) { foreach (var o in observers) o.OnHealth(health); }
    public void OnStatus(TrainingStatus status) { foreach (var o in observers) o.OnStatus(status); }
    public void OnEpochWeights(EpochWeights weights) { foreach (var o in observers) o.OnEpochWeights(weights); }
}
