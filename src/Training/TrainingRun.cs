using Akka.Actor;
using Distributed.Model.Nets;
using Distributed.Protocol;
using Distributed.Worker;
using Distributed.Coordinator;
using Distributed.ParameterServer;

namespace Distributed.Training;

/// <summary>
/// Starts the parameter server and the coordinator for a job inside an actor system, optionally with
/// in-process workers, and waits for the run to end. The cluster host uses the same pieces with remote workers.
/// </summary>
public static class TrainingRun
{
    public static async Task<TrainingOutcome> RunAsync(ActorSystem system, TrainingJob job, ITrainingObserver observer,
        bool startLocalWorkers, CancellationToken cancellationToken, RunOptions? options = null)
    {
        var (initialState, parameterCount, decayMask) = InitialWeights(job.Model, job.Plan.Seed);
        var resume = options?.Resume;
        var plan = resume is null ? job.Plan : job.Plan with { StartStep = resume.Step };
        var runId = Guid.NewGuid().ToString("N")[..8];
        var outcome = new TaskCompletionSource<TrainingOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var observerActor = system.ActorOf(TrainingObserverActor.Props(observer, outcome), $"observer-{runId}");
        var parameterServer = system.ActorOf(ParameterServerActor.Props(resume is null
            ? new ParameterServerSetup(initialState, parameterCount, decayMask, job.Sgd)
            : new ParameterServerSetup(resume.State, parameterCount, decayMask, job.Sgd, resume.Momentum, resume.WeightsVersion)),
            $"parameter-server-{runId}");
        var configuration = new ConfigureWorker(job.Model, job.Data, job.Plan.Seed);
        var coordinator = system.ActorOf(CoordinatorActor.Props(plan, configuration, parameterServer,
            resume?.State ?? initialState, resume?.WeightsVersion ?? 0, observerActor), $"coordinator-{runId}");
        options?.Started?.Invoke(new RunActors(coordinator, parameterServer));
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
            outcome.TrySetResult(new TrainingOutcome(null, new TrainingFailed("stopped on request", -1)) { Stopped = true }));
        try
        {
            var result = await outcome.Task;
            if (result.Stopped) return await StopAsync(coordinator, parameterServer, result);
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

    /// <summary>
    /// The coordinator goes first, so no step is applied after the snapshot is taken; the parameter server has
    /// by then applied every step the coordinator completed (its mailbox is ordered), so the snapshot is the state
    /// after a whole number of steps, which is all `--resume` needs.
    /// </summary>
    private static async Task<TrainingOutcome> StopAsync(IActorRef coordinator, IActorRef parameterServer, TrainingOutcome stopped)
    {
        try
        {
            await coordinator.GracefulStop(TimeSpan.FromSeconds(10));
            var parameters = await parameterServer.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(30));
            return stopped with { Failed = stopped.Failed! with { Step = parameters.StepsApplied }, Parameters = parameters };
        }
        catch (Exception error) when (error is AskTimeoutException or TaskCanceledException)
        {
            return stopped;
        }
    }

    /// <summary>
    /// Where a resumed run starts: the weights, momentum and counters of a checkpoint. The sample order,
    /// augmentation and learning rate are functions of (seed, step), so nothing else is needed.
    /// </summary>
    public sealed record ResumePoint(float[] State, float[] Momentum, long Step, long WeightsVersion);

    /// <summary>The actors of a started run, for hosts that attach remote workers or take checkpoints.</summary>
    public sealed record RunActors(IActorRef Coordinator, IActorRef ParameterServer);

    /// <summary>Optional parts of a run: a resume point, and a callback once its actors exist.</summary>
    public sealed record RunOptions(ResumePoint? Resume = null, Action<RunActors>? Started = null);

    /// <summary>The seed fixes the initial weights; every run with the same seed starts from the same point.</summary>
    public static (float[] State, int ParameterCount, float[] DecayMask) InitialWeights(ModelSpec model, int seed)
    {
        using var replica = new FlatReplica(model, seed);
        return ((float[])replica.State.Clone(), replica.Layout.ParameterCount, replica.Layout.DecayMask());
    }
}
