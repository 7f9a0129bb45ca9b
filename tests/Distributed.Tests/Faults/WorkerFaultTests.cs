using Akka.Actor;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Worker;
using Distributed.Worker.Faults;

namespace Distributed.Tests.Faults;

/// <summary>A worker given a fault plan rehearses it: what comes back (or does not) from the worker actor itself.</summary>
public sealed class WorkerFaultTests() : Akka.TestKit.Xunit2.TestKit(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false))
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly ConfigureWorker Configuration = new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
        new DataSpec("synthetic", null, 0, false, TrainLimit: 64, TestLimit: 16), 3);

    [Fact]
    public async Task A_worker_told_nan_at_its_second_shard_returns_a_finite_gradient_then_a_NaN_one_then_finite_again()
    {
        var (worker, stateLength) = await ConfiguredAsync(FaultPlanParser.ParseForNode(["nan@2"]) with { CrashExitsProcess = false });
        var answers = new List<WorkCompleted>();
        for (var round = 1; round <= 3; round++)
        {
            worker.Tell(new WorkRequest(round, WorkKind.Train, 0, 0, round, [1, 2, 3, 4], new float[stateLength]), TestActor);
            answers.Add(await ExpectMsgAsync<WorkCompleted>(Patience));
        }
        Assert.All(answers[0].Buffer!, value => Assert.True(float.IsFinite(value)));
        Assert.True(double.IsFinite(answers[0].LossSum));
        Assert.Contains(answers[1].Buffer!, float.IsNaN);
        Assert.True(double.IsNaN(answers[1].LossSum));
        Assert.All(answers[2].Buffer!, value => Assert.True(float.IsFinite(value)));
    }

    [Fact]
    public async Task A_worker_told_to_hang_stays_alive_but_answers_nothing_more()
    {
        var (worker, stateLength) = await ConfiguredAsync(new FaultPlan([new Fault(FaultKind.Hang, 2)]));
        Watch(worker);
        worker.Tell(new WorkRequest(1, WorkKind.Train, 0, 0, 1, [1, 2], new float[stateLength]), TestActor);
        await ExpectMsgAsync<WorkCompleted>(Patience);
        worker.Tell(new WorkRequest(2, WorkKind.Train, 0, 0, 2, [1, 2], new float[stateLength]), TestActor);
        worker.Tell(new WorkRequest(3, WorkKind.Evaluate, 0, 0, 2, [1, 2], null), TestActor);
        worker.Tell(Configuration, TestActor);
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(5));
        var identity = await worker.Ask<ActorIdentity>(new Identify(1), Patience);
        Assert.Equal(worker, identity.Subject);
    }

    [Fact]
    public async Task An_in_process_worker_told_to_crash_dies_at_that_shard()
    {
        var (worker, stateLength) = await ConfiguredAsync(new FaultPlan([new Fault(FaultKind.Crash, 1)]));
        Watch(worker);
        worker.Tell(new WorkRequest(1, WorkKind.Train, 0, 0, 1, [1, 2], new float[stateLength]), TestActor);
        await ExpectTerminatedAsync(worker, Patience);
    }

    /// <summary>
    /// The coordinator opens a round only after the previous one is complete, so while a straggler computes, the
    /// shards queued behind it for rounds a newer queued round superseded were done elsewhere (by speculative copies):
    /// it skips them instead of working through the backlog.
    /// </summary>
    [Fact]
    public async Task A_slow_worker_skips_queued_shards_of_rounds_a_newer_queued_round_superseded()
    {
        var (worker, stateLength) = await ConfiguredAsync(FaultPlanParser.ParseForNode(["slow=20x"]) with { CrashExitsProcess = false });
        for (var round = 1; round <= 3; round++) worker.Tell(new WorkRequest(round, WorkKind.Train, 0, 0, round, [1, 2, 3, 4], new float[stateLength]), TestActor);

        Assert.Equal(1, (await ExpectMsgAsync<WorkCompleted>(Patience)).Round);
        // Round 2 is skipped, and answered as skipped so that the coordinator stops counting it as outstanding.
        var skipped = await ExpectMsgAsync<WorkFailed>(Patience);
        Assert.Equal(2, skipped.Round);
        Assert.StartsWith("skipped: round 2 is over", skipped.Reason);
        Assert.Equal(3, (await ExpectMsgAsync<WorkCompleted>(Patience)).Round);
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Under bounded staleness several training rounds are open at once, and each request names the oldest still
    /// open: a queued request of an open round is computed, not skipped as a superseded one.
    /// </summary>
    [Fact]
    public async Task A_worker_computes_queued_shards_of_rounds_still_open_under_bounded_staleness()
    {
        var (worker, stateLength) = await ConfiguredAsync(FaultPlanParser.ParseForNode(["slow=20x"]) with { CrashExitsProcess = false });
        for (var round = 1; round <= 3; round++)
            worker.Tell(new WorkRequest(round, WorkKind.Train, 0, 0, round, [1, 2, 3, 4], new float[stateLength], OldestOpenRound: 1), TestActor);

        for (var round = 1; round <= 3; round++) Assert.Equal(round, (await ExpectMsgAsync<WorkCompleted>(Patience)).Round);
        // Once the coordinator says round 4 is the oldest open one, a queued request of round 2 is over.
        worker.Tell(new WorkRequest(4, WorkKind.Train, 0, 0, 4, [1, 2, 3, 4], new float[stateLength], OldestOpenRound: 4), TestActor);
        worker.Tell(new WorkRequest(2, WorkKind.Train, 0, 0, 2, [1, 2, 3, 4], new float[stateLength], OldestOpenRound: 2), TestActor);
        Assert.Equal(4, (await ExpectMsgAsync<WorkCompleted>(Patience)).Round);
        Assert.StartsWith("skipped: round 2 is over", (await ExpectMsgAsync<WorkFailed>(Patience)).Reason);
    }

    [Fact]
    public void A_slow_shard_sleeps_its_factor_minus_one_times_the_measured_compute_and_reports_the_total()
    {
        var slept = new List<TimeSpan>();
        var completed = new WorkCompleted(1, WorkKind.Train, 0, 1, 4, 2.0, 1, 40, [1f, 2f]);
        var slowed = FaultEffects.Apply(completed, poison: false, slowdown: 3, slept.Add);
        Assert.Equal([TimeSpan.FromMilliseconds(80)], slept);
        Assert.Equal(120, slowed.ComputeMilliseconds, 6);
        Assert.Equal([1f, 2f], slowed.Buffer!);
        Assert.Same(completed, FaultEffects.Apply(completed, poison: false, slowdown: 1, slept.Add));
        Assert.Single(slept);
    }

    private async Task<(IActorRef Worker, int StateLength)> ConfiguredAsync(FaultPlan plan)
    {
        var worker = Sys.ActorOf(WorkerActor.Props("rehearsing", 1, plan));
        worker.Tell(Configuration, TestActor);
        var configured = await ExpectMsgAsync<WorkerConfigured>(Patience);
        return (worker, configured.StateLength);
    }
}
