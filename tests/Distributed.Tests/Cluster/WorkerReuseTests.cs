using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Worker;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A worker node outlives coordinators (a resumed run, the next job on the same cluster): once configured again
/// it must serve the new run's rounds, which start again from 1.
/// </summary>
public sealed class WorkerReuseTests() : Akka.TestKit.Xunit2.TestKit(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false))
{
    private static readonly ConfigureWorker Configuration = new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
        new DataSpec("synthetic", null, 0, false, TrainLimit: 64, TestLimit: 16), 3);

    [Fact]
    public async Task A_reconfigured_worker_answers_the_new_runs_rounds_even_though_their_numbers_restart()
    {
        var worker = Sys.ActorOf(WorkerActor.Props("reused", 1));
        worker.Tell(Configuration, TestActor);
        var configured = await ExpectMsgAsync<WorkerConfigured>(TimeSpan.FromSeconds(60));
        var weights = new float[configured.StateLength];

        worker.Tell(new WorkRequest(50, WorkKind.Train, 0, 0, 7, [1, 2, 3, 4], weights), TestActor);
        Assert.Equal(50, (await ExpectMsgAsync<WorkCompleted>(TimeSpan.FromSeconds(60))).Round);

        // The next run: a new coordinator configures the worker and numbers its rounds from 1.
        worker.Tell(Configuration, TestActor);
        await ExpectMsgAsync<WorkerConfigured>(TimeSpan.FromSeconds(60));
        worker.Tell(new WorkRequest(1, WorkKind.Train, 0, 0, 0, [5, 6, 7, 8], weights), TestActor);
        var answer = await ExpectMsgAsync<WorkCompleted>(TimeSpan.FromSeconds(60));
        Assert.Equal(1, answer.Round);
        Assert.Equal(4, answer.Samples);
    }

    [Fact]
    public async Task A_configuration_that_arrives_while_a_shard_computes_is_answered_once_the_shard_is_done()
    {
        var worker = Sys.ActorOf(WorkerActor.Props("busy", 1));
        worker.Tell(Configuration, TestActor);
        var configured = await ExpectMsgAsync<WorkerConfigured>(TimeSpan.FromSeconds(60));

        // Both are in the mailbox before the shard can finish: the configuration reaches a computing worker.
        worker.Tell(new WorkRequest(9, WorkKind.Train, 0, 0, 4, [1, 2, 3, 4], new float[configured.StateLength]), TestActor);
        worker.Tell(Configuration, TestActor);

        Assert.Equal(9, (await ExpectMsgAsync<WorkCompleted>(TimeSpan.FromSeconds(60))).Round);
        await ExpectMsgAsync<WorkerConfigured>(TimeSpan.FromSeconds(60));
        worker.Tell(new WorkRequest(1, WorkKind.Train, 0, 0, 0, [5, 6], new float[configured.StateLength]), TestActor);
        Assert.Equal(1, (await ExpectMsgAsync<WorkCompleted>(TimeSpan.FromSeconds(60))).Round);
    }
}
