using Akka.Actor;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Protocol;

namespace Distributed.Tests.Training;

// A result accepted and then lost before the parameter server read it (with server nodes: its worker died before every
// server node fetched its range): the step is aborted, the shard computed again by a live worker, the step applied once.
public sealed partial class CoordinatorFaultTests
{
    [Fact]
    public async Task A_result_the_parameter_server_cannot_read_is_computed_again_by_a_live_worker_and_the_step_applied_once()
    {
        var (_, workers, _) = await StartRunWithServerAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30),
            rangeServers: setup => LosesShardOnce.Props(setup, step: 0, shard: 0));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(0, requestA.Shard);
        workers[0].Reply(Gradient(requestA, [1f, 1f, 1f, 1f]));
        workers[1].Reply(Gradient(requestB, [3f, 3f, 3f, 3f]));
        // Worker 0's result was accepted; then worker 0 dies before the server read it.
        Sys.Stop(workers[0].Ref);

        var notice = await ExpectNoticeAsync("could not be read by the parameter server");
        Assert.Contains($"shard {requestA.Shard}", notice.Text);
        Assert.Contains("rehearsed: the worker holding it is gone", notice.Text);
        var again = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(requestA.Shard, again.Shard);
        Assert.Equal(requestA.SampleIndices, again.SampleIndices);
        Assert.Equal(requestA.WeightsVersion, again.WeightsVersion);
        workers[1].Reply(Gradient(again, [1f, 1f, 1f, 1f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(1, finished.Steps);
        // (1 + 3) / 2 with learning rate 1: the step applied once, with the recomputed shard, from the weights it started on.
        Assert.Equal(new float[] { -2f, -2f, -2f, -2f }, finished.State!);
        Assert.Equal(1, finished.ReassignedShards);
        Assert.Equal(new SampleTally(TrainSamples, 0, 0), finished.Samples);
    }

    /// <summary>A range server that cannot read one shard of one step the first time; everything else goes to a real one inside it.</summary>
    private sealed class LosesShardOnce : ReceiveActor
    {
        public LosesShardOnce(RangeServerSetup setup, long step, int shard)
        {
            var inner = Context.ActorOf(RangeServerActor.Props(setup), "inner");
            var lost = false;
            Receive<PrepareStep>(message => message.Step == step && !lost, message =>
            {
                lost = true;
                Sender.Tell(new StepPrepared(message.Step, setup.Index, PrepareOutcome.Unreadable, double.NaN, null, null, [],
                    LostShards: [shard], LostReason: "rehearsed: the worker holding it is gone"));
            });
            ReceiveAny(message => inner.Forward(message));
        }

        public static Props Props(RangeServerSetup setup, long step, int shard) => Akka.Actor.Props.Create(() => new LosesShardOnce(setup, step, shard));
    }
}
