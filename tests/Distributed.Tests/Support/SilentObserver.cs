using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Tests.Support;

/// <summary>Keeps what a run reports so tests can inspect it.</summary>
public sealed class RecordingObserver : ITrainingObserver
{
    private readonly object _gate = new();
    public List<StepCompleted> Steps { get; } = [];
    public List<EpochCompleted> Epochs { get; } = [];
    public List<string> Notices { get; } = [];

    public void OnStep(StepCompleted step) { lock (_gate) Steps.Add(step); }
    public void OnEpoch(EpochCompleted epoch) { lock (_gate) Epochs.Add(epoch); }
    public void OnNotice(TrainingNotice notice) { lock (_gate) Notices.Add(notice.Text); }
}
