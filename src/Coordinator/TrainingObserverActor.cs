using Akka.Actor;
using Distributed.Protocol;

namespace Distributed.Coordinator;

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
