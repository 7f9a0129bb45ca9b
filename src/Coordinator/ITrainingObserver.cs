using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>What a host does with the coordinator's progress (console, metrics file, tests).</summary>
public interface ITrainingObserver
{
    void OnStep(StepCompleted step) { }
    void OnEpoch(EpochCompleted epoch) { }
    void OnNotice(TrainingNotice notice) { }
    void OnTimings(StepTimings timings) { }
    void OnHealth(HealthSample health) { }
    void OnStatus(TrainingStatus status) { }

    /// <summary>The weights at the end of an epoch, before the next step; for observers that probe the model mid-run.</summary>
    void OnEpochWeights(EpochWeights weights) { }
}
