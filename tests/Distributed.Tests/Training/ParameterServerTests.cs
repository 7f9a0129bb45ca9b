using Akka.Actor;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Tests.Support;

namespace Distributed.Tests.Training;

public sealed class ParameterServerTests : Akka.TestKit.Xunit2.TestKit
{
    public ParameterServerTests() : base(AkkaTestConfig.WithProtocolSerialization()) { }

    [Fact]
    public async Task Parameter_server_weights_shard_gradients_by_shard_size_and_averages_running_statistics()
    {
        // Two trainable values and one running statistic; plain SGD with learning rate 1.
        var server = Sys.ActorOf(ParameterServerGroup.Props(new ParameterServerSetup(
            [10f, 20f, 0f], ParameterCount: 2, DecayMask: [0f, 0f], new SgdSettings(0, false, 0))));

        server.Tell(new ApplyStep(0, 1.0, [
            new ShardContribution(0, 3, [1f, 2f, 5f]),
            new ShardContribution(1, 1, [5f, 6f, 9f]),
        ]));

        var applied = await ExpectMsgAsync<StepApplied>();
        // gradient = (3·[1,2] + 1·[5,6]) / 4 = [2, 3]; statistic = (3·5 + 9) / 4 = 6
        Assert.Equal([8f, 17f, 6f], applied.State!);
        Assert.Equal(1, applied.WeightsVersion);
        Assert.Equal(Math.Sqrt(13), applied.GradientNorm, 6);
    }

    [Fact]
    public async Task Parameter_server_applies_nesterov_momentum_and_decays_only_masked_weights()
    {
        var server = Sys.ActorOf(ParameterServerGroup.Props(new ParameterServerSetup(
            [1f, 1f], ParameterCount: 2, DecayMask: [1f, 0f], new SgdSettings(0.9, true, 0.1))));

        server.Tell(new ApplyStep(0, 0.5, [new ShardContribution(0, 1, [1f, 1f])]));
        var first = await ExpectMsgAsync<StepApplied>();
        server.Tell(new ApplyStep(1, 0.5, [new ShardContribution(0, 1, [1f, 1f])]));
        var second = await ExpectMsgAsync<StepApplied>();

        // PyTorch SGD: g = grad + wd·w; v = μv + g; w -= lr·(g + μv).
        double w0 = 1, v0 = 0, w1 = 1, v1 = 0;
        for (var step = 0; step < 2; step++)
        {
            var g0 = 1 + 0.1 * w0; v0 = 0.9 * v0 + g0; w0 -= 0.5 * (g0 + 0.9 * v0);
            var g1 = 1.0; v1 = 0.9 * v1 + g1; w1 -= 0.5 * (g1 + 0.9 * v1);
            if (step == 0)
            {
                Assert.Equal(w0, first.State![0], 1e-5);
                Assert.Equal(w1, first.State![1], 1e-5);
            }
        }
        Assert.Equal(w0, second.State![0], 1e-5);
        Assert.Equal(w1, second.State![1], 1e-5);
    }

    [Fact]
    public async Task A_finite_gradient_that_would_overflow_the_weights_is_refused_and_state_and_momentum_stay_as_they_were()
    {
        var server = Sys.ActorOf(ParameterServerGroup.Props(new ParameterServerSetup(
            [1f, 2f], ParameterCount: 2, DecayMask: new float[2], new SgdSettings(0.9, false, 0))));
        server.Tell(new ApplyStep(0, 0.1, [new ShardContribution(0, 1, [1f, 1f])]));
        var good = await ExpectMsgAsync<StepApplied>();
        var before = await server.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(5));

        // Every value is finite, but w − η·v overflows float for the first weight: the model itself diverged.
        server.Tell(new ApplyStep(1, 1e30, [new ShardContribution(0, 1, [1e10f, 1f])]));

        var refused = await ExpectMsgAsync<StepRefused>();
        Assert.Equal(1, refused.Step);
        Assert.Contains("non-finite", refused.Reason);
        var after = await server.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(good.State, after.State);
        Assert.Equal(before.Momentum, after.Momentum);
        Assert.Equal(good.WeightsVersion, after.WeightsVersion);
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_to_zero()
    {
        var schedule = new LearningRateSchedule(0.2, ScheduleKind.Linear, WarmupEpochs: 1);
        Assert.Equal(0.02, schedule.At(0, stepsPerEpoch: 10, totalSteps: 30), 9);
        Assert.Equal(0.2, schedule.At(9, 10, 30), 9);
        Assert.Equal(0.1, schedule.At(20, 10, 30), 9);
        Assert.Equal(0.0, schedule.At(30, 10, 30), 9);
        Assert.Equal(0.2, LearningRateSchedule.LinearScaling(0.1, 256), 9);
    }
}
