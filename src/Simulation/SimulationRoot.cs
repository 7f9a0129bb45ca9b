using System.Diagnostics;
using Akka.Actor;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Protocol;

namespace Distributed.Simulation;

/// <summary>
/// One simulation. A top-level actor starts asynchronously on Akka's own threads, but an actor's children start
/// inline with it; so this actor creates the real <see cref="CoordinatorActor"/>, the server group, the observer
/// and the simulated workers as its children, all on the <see cref="InlineDispatcherConfigurator"/>, and on
/// <see cref="Start"/> drives the clock: take the earliest event, let every actor react, repeat until the
/// coordinator reports the end. The whole run is this one message, on one thread.
/// </summary>
internal sealed class SimulationRoot : ReceiveActor
{
    /// <summary>The learning rate is irrelevant to timing; the real server still applies it to the small state.</summary>
    private const double LearningRate = 0.1;

    public SimulationRoot(SimulationOptions options, VirtualScheduler clock, TaskCompletionSource<SimulationResult> done)
    {
        Receive<Start>(_ =>
        {
            try
            {
                done.TrySetResult(Run(options, clock));
            }
            catch (Exception error)
            {
                done.TrySetException(error);
            }
        });
    }

    public static Props Props(SimulationOptions options, VirtualScheduler clock, TaskCompletionSource<SimulationResult> done) =>
        Akka.Actor.Props.Create(() => new SimulationRoot(options, clock, done)).WithDispatcher(InlineDispatcherConfigurator.Id);

    private static SimulationResult Run(SimulationOptions options, VirtualScheduler clock)
    {
        var wall = Stopwatch.StartNew();
        var plan = new TrafficPlan(options.Workers, options.Servers, options.ModelBytes, options.Path);
        var links = new LinkModel(plan.Nodes, options.BytesPerSecond, options.LatencyMicroseconds * 1e-6);
        var stateLength = SimulatedCluster.StateLengthFor(options.Servers);
        var cluster = new SimulatedCluster(plan, links, clock, stateLength, options.GlobalBatch * options.Steps);
        var recorder = new StepRecorder(plan, links, () => cluster.Now);
        var outcome = new TaskCompletionSource<TrainingOutcome>();
        var observer = Context.ActorOf(TrainingObserverActor.Props(recorder, outcome).WithDispatcher(InlineDispatcherConfigurator.Id), "observer");

        var initial = new float[stateLength];
        var setup = new ParameterServerSetup(initial, stateLength, Enumerable.Repeat(1f, stateLength).ToArray(), SgdSettings.Default);
        var servers = Context.ActorOf(SimulatedServerGroup.Props(cluster, setup, options.ServerGigabytesPerSecond * 1e9), "servers");
        var training = new TrainingPlan(Epochs: 1, options.GlobalBatch, options.Seed, new LearningRateSchedule(LearningRate, ScheduleKind.Constant, 0),
            MinimumWorkers: options.Workers, TimeSpan.FromSeconds(options.ShardTimeoutSeconds), MaxSteps: options.Steps, EvaluateEachEpoch: false)
        {
            // The remedies are the real coordinator's own.
            Speculate = options.Speculate,
            BackupWorkers = options.BackupWorkers,
            Staleness = options.Staleness,
        };
        // The simulated workers build nothing: the model's size reaches them as ModelBytes in the traffic plan.
        var configuration = new ConfigureWorker(ModelSpec.ResNet20FashionMnist, new DataSpec("simulated", null, 0, false), options.Seed);
        var coordinator = Context.ActorOf(CoordinatorActor.Props(training, configuration, servers, new PublishedWeights(0, initial), observer, () => clock.Elapsed)
            .WithDispatcher(InlineDispatcherConfigurator.Id), "coordinator");

        var speeds = options.SpeedFactors();
        var shardTimes = new List<ShardTimeModel>();
        for (var w = 0; w < options.Workers; w++)
        {
            var name = $"worker-{w + 1}";
            shardTimes.Add(options.ShardTimes(w, speeds[w]));
            var worker = Context.ActorOf(SimulatedWorkerActor.Props(name, w, cluster, shardTimes[w]), name);
            coordinator.Tell(new RegisterWorker(name), worker);
        }

        while (!outcome.Task.IsCompleted)
        {
            if (!clock.RunNext())
                throw new InvalidOperationException($"the simulated run stalled at {clock.Elapsed.TotalSeconds:F3} s after {recorder.Steps.Count} steps: nothing left to happen");
        }
        var result = outcome.Task.Result;
        if (result.Failed is { } failed) throw new InvalidOperationException($"the simulated run failed at step {failed.Step}: {failed.Reason}");
        var finished = result.Finished!;
        return new SimulationResult(options, plan, recorder.Steps.ToList(), finished.ReassignedShards, wall.Elapsed.TotalSeconds)
        {
            SpeculativeCopies = recorder.Workers.Sum(w => w.SpeculativeCopies),
            SpeculativeWins = recorder.Workers.Sum(w => w.SpeculativeWins),
            AbandonedShards = recorder.Workers.Sum(w => w.AbandonedShards),
            LedgerSkippedSamples = finished.Samples?.Skipped ?? 0,
            SkippedRequests = cluster.SkippedRequests,
            Slowdowns = shardTimes.Sum(t => t.Slowdowns),
        };
    }

    public sealed record Start
    {
        public static Start Instance { get; } = new();
    }
}
