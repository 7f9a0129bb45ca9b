using Akka.Actor;
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

/// <summary>
/// The [parameters | running statistics] state after the last step of <paramref name="Epoch"/>, told to the
/// observer just before that epoch's <see cref="EpochCompleted"/>. In-process only (the observer lives next to the
/// coordinator); the array is the parameter server's published state, which nothing writes to again.
/// </summary>
public sealed record EpochWeights(int Epoch, long Step, long WeightsVersion, float[] State) : INoSerializationVerificationNeeded;

/// <summary>The end of a run: the final weights, or why it stopped.</summary>
public sealed record TrainingOutcome(TrainingFinished? Finished, TrainingFailed? Failed)
{
    /// <summary>
    /// The parameter server's last state, momentum included (for checkpoints): set on success, and when the run
    /// was stopped on request (then it is the state after the last applied step, which `--resume` continues).
    /// </summary>
    public CurrentParameters? Parameters { get; init; }

    /// <summary>Stopped on request (Ctrl+C, SIGTERM, a cancelled token) rather than failed.</summary>
    public bool Stopped { get; init; }

    public bool Succeeded => Finished is not null;
}

/// <summary>Bridges the coordinator's messages to an <see cref="ITrainingObserver"/> and a task that ends with the run.</summary>
public sealed class TrainingObserverActor : ReceiveActor
{
    public TrainingObserverActor(ITrainingObserver observer, TaskCompletionSource<TrainingOutcome> outcome)
    {
        Receive<StepCompleted>(observer.OnStep);
        Receive<EpochCompleted>(observer.OnEpoch);
        Receive<TrainingNotice>(observer.OnNotice);
        Receive<StepTimings>(observer.OnTimings);
        Receive<HealthSample>(observer.OnHealth);
        Receive<TrainingStatus>(observer.OnStatus);
        Receive<EpochWeights>(observer.OnEpochWeights);
        Receive<TrainingFinished>(finished => outcome.TrySetResult(new TrainingOutcome(finished, null)));
        Receive<TrainingFailed>(failed => outcome.TrySetResult(new TrainingOutcome(null, failed)));
    }

    public static Props Props(ITrainingObserver observer, TaskCompletionSource<TrainingOutcome> outcome) =>
        Akka.Actor.Props.Create(() => new TrainingObserverActor(observer, outcome));
}
