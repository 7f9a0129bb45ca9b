using Akka.Actor;
using Distributed.Coordinator;
using Distributed.Model.Nets;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Training.Workers;

namespace Distributed.Training;

/// <summary>
/// Starts the parameter server, the coordinator and the run's workers inside an actor system, and waits for the
/// run to end. The parameter server owns the weights: the coordinator starts from the version it publishes.
/// </summary>
public static class TrainingRun
{
    public static async Task<TrainingOutcome> RunAsync(ActorSystem system, TrainingJob job, ITrainingObserver observer,
        IWorkerSource workers, CancellationToken cancellationToken, RunOptions? options = null)
    {
        var model = options?.Model ?? RunModel.Build(job.Model, job.Plan.Seed);
        var resume = options?.Resume;
        var plan = resume is null ? job.Plan : job.Plan with { StartStep = resume.Step };
        var runId = Guid.NewGuid().ToString("N")[..8];
        var outcome = new TaskCompletionSource<TrainingOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var observerActor = system.ActorOf(TrainingObserverActor.Props(observer, outcome), $"observer-{runId}");
        var (serverGuardian, parameterServer) = await StartGuardedAsync(system, ParameterServerGroup.Props(resume is null
            ? new ParameterServerSetup((float[])model.InitialState.Clone(), model.ParameterCount, model.DecayMask, job.Sgd, Servers: job.ParameterServers)
            : new ParameterServerSetup(resume.State, model.ParameterCount, model.DecayMask, job.Sgd, resume.Momentum, resume.WeightsVersion, job.ParameterServers), options?.RangeServers),
            $"parameter-server-{runId}", "parameter server", Directive.Resume, observerActor);
        var published = await parameterServer.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(30), cancellationToken);
        var configuration = new ConfigureWorker(job.Model, job.Data, job.Plan.Seed, job.Compression, job.LabelSmoothing, job.FlipAveragedEvaluation);
        var (coordinatorGuardian, coordinator) = await StartGuardedAsync(system,
            CoordinatorActor.Props(plan, configuration, parameterServer, PublishedWeights.Of(published), observerActor),
            $"coordinator-{runId}", "coordinator", Directive.Stop, observerActor);
        options?.Started?.Invoke(new RunActors(coordinator, parameterServer));
        var attached = workers.Attach(system, coordinator, runId);
        await using var registration = cancellationToken.Register(() =>
            outcome.TrySetResult(new TrainingOutcome(null, new TrainingFailed("stopped on request", -1)) { Stopped = true }));
        try
        {
            var result = await outcome.Task;
            var status = await StatusOfAsync(coordinator);
            result = result with { Workers = status?.Workers ?? [] };
            if (result.Stopped) return await StopAsync(coordinator, parameterServer, result);
            if (!result.Succeeded) return await LastGoodStateAsync(coordinator, parameterServer, result, status?.Step);
            var parameters = await parameterServer.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(30), cancellationToken);
            return result with { Parameters = parameters };
        }
        finally
        {
            foreach (var actor in attached.Append(coordinatorGuardian).Append(serverGuardian).Append(observerActor))
                system.Stop(actor);
        }
    }

    /// <summary>Starts <paramref name="child"/> under a guardian and returns both.</summary>
    public static async Task<(IActorRef Guardian, IActorRef Child)> StartGuardedAsync(ActorSystem system, Props child, string name, string role,
        Directive directive, IActorRef observer)
    {
        var guardian = system.ActorOf(RunGuardian.Props(child, name, role, directive, observer), $"guard-{name}");
        return (guardian, await guardian.Ask<IActorRef>(RunGuardian.GetChild.Instance, TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// The coordinator's status at the end: its roster (every worker of the run, departed ones included, and the training
    /// shards each delivered) and the step in progress; null when the coordinator is gone.
    /// </summary>
    private static async Task<TrainingStatus?> StatusOfAsync(IActorRef coordinator)
    {
        try
        {
            return await coordinator.Ask<TrainingStatus>(GetTrainingStatus.Instance, TimeSpan.FromSeconds(10));
        }
        catch (Exception error) when (error is AskTimeoutException or TaskCanceledException)
        {
            return null;
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
        // InvalidOperationException: a range server on a server node is gone, so there is no whole state to save.
        catch (Exception error) when (error is AskTimeoutException or TaskCanceledException or InvalidOperationException)
        {
            return stopped;
        }
    }

    /// <summary>
    /// A failed run still keeps what it learned: the parameter server's state is never non-finite and always the
    /// state after a whole number of steps, so it is the checkpoint to resume from (or to inspect).
    /// </summary>
    /// <param name="stepInProgress">The coordinator's step in progress, which a failure without a step of its own (a failed parameter server)
    /// names when the parameter server's state cannot be read either.</param>
    private static async Task<TrainingOutcome> LastGoodStateAsync(IActorRef coordinator, IActorRef parameterServer, TrainingOutcome failed, long? stepInProgress)
    {
        try
        {
            if (!coordinator.IsNobody()) await coordinator.GracefulStop(TimeSpan.FromSeconds(10));
            var parameters = await parameterServer.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(30));
            var step = failed.Failed!.Step < 0 ? parameters.StepsApplied : failed.Failed.Step;
            return failed with { Failed = failed.Failed with { Step = step }, Parameters = parameters };
        }
        // InvalidOperationException: a range server on a server node is gone, so there is no whole state to save.
        catch (Exception error) when (error is AskTimeoutException or TaskCanceledException or InvalidOperationException)
        {
            return failed.Failed!.Step < 0 && stepInProgress is { } step ? failed with { Failed = failed.Failed with { Step = step } } : failed;
        }
    }

    /// <summary>
    /// Where a resumed run starts: the weights, momentum and counters of a checkpoint. The sample order,
    /// augmentation and learning rate are functions of (seed, step), so nothing else is needed.
    /// </summary>
    public sealed record ResumePoint(float[] State, float[] Momentum, long Step, long WeightsVersion);

    /// <summary>The actors of a started run, for hosts that take checkpoints or watch the run.</summary>
    public sealed record RunActors(IActorRef Coordinator, IActorRef ParameterServer);

    /// <summary>
    /// Optional parts of a run: the model already built, a resume point, a callback once its actors exist, and how the
    /// parameter server's range servers are made (default <see cref="RangeServerActor.Props"/>; tests rehearse a failing one).
    /// </summary>
    public sealed record RunOptions(ResumePoint? Resume = null, Action<RunActors>? Started = null, RunModel? Model = null,
        Func<RangeServerSetup, Props>? RangeServers = null);
}
