using Akka.Actor;
using Distributed.Model.Nets;
using Distributed.Protocol;
using Distributed.Worker;

namespace Distributed.Coordinator.Training;

/// <summary>
/// Starts the parameter server and the coordinator for a job inside an actor system, optionally with
/// in-process workers, and waits for the run to end. The cluster host uses the same pieces with remote workers.
/// </summary>
public static class TrainingRun
{
    public static async Task<TrainingOutcome> RunAsync(ActorSystem system, TrainingJob job, ITrainingObserver observer,
        bool startLocalWorkers, CancellationToken cancellationToken)
    {
        var (initialState, parameterCount, decayMask) = InitialWeights(job.Model, job.Plan.Seed);
        var runId = Guid.NewGuid().ToString("N")[..8];
        var outcome = new TaskCompletionSource<TrainingOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var observerActor = system.ActorOf(TrainingObserverActor.Props(observer, outcome), $"observer-{runId}");
        var parameterServer = system.ActorOf(ParameterServerActor.Props(
            new ParameterServerSetup(initialState, parameterCount, decayMask, job.Sgd)), $"parameter-server-{runId}");
        var configuration = new ConfigureWorker(job.Model, job.Data, job.Plan.Seed);
        var coordinator = system.ActorOf(CoordinatorActor.Props(job.Plan, configuration, parameterServer, initialState, 0, observerActor),
            $"coordinator-{runId}");
        var workers = new List<IActorRef>();
        if (startLocalWorkers)
        {
            for (var i = 0; i < job.Workers; i++)
            {
                var name = $"worker-{i}";
                var worker = system.ActorOf(WorkerActor.Props(name, job.ThreadsPerWorker), $"{name}-{runId}");
                coordinator.Tell(new RegisterWorker(name), worker);
                workers.Add(worker);
            }
        }
        await using var registration = cancellationToken.Register(() =>
            outcome.TrySetResult(new TrainingOutcome(null, new TrainingFailed("cancelled by the user", -1))));
        try
        {
            var result = await outcome.Task;
            if (!result.Succeeded) return result;
            var parameters = await parameterServer.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(30), cancellationToken);
            return result with { Parameters = parameters };
        }
        finally
        {
            foreach (var actor in workers.Append(coordinator).Append(parameterServer).Append(observerActor))
                system.Stop(actor);
        }
    }

    /// <summary>The seed fixes the initial weights; every run with the same seed starts from the same point.</summary>
    public static (float[] State, int ParameterCount, float[] DecayMask) InitialWeights(ModelSpec model, int seed)
    {
        using var replica = new FlatReplica(model, seed);
        return ((float[])replica.State.Clone(), replica.Layout.ParameterCount, replica.Layout.DecayMask());
    }
}
