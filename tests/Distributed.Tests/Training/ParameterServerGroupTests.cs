using Akka.Actor;
using Distributed.Model.Nets;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Training;

namespace Distributed.Tests.Training;

/// <summary>
/// K range servers behind one group (every message serialized on the way): the same weights and momentum as one
/// server, bit for bit, and a refused or failed step applied in no range.
/// </summary>
public sealed class ParameterServerGroupTests : Akka.TestKit.Xunit2.TestKit
{
    public ParameterServerGroupTests() : base(AkkaTestConfig.WithProtocolSerialization()) { }

    private static readonly SgdSettings Sgd = SgdSettings.Default;

    [Fact]
    public async Task Two_three_and_four_servers_give_the_weights_momentum_and_gradient_of_one_bit_for_bit()
    {
        // ResNet-8 with batch norm: trainable parameters, then running statistics, 16-value blocks not aligned with the boundary.
        var model = RunModel.Build(new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10), seed: 5);
        Assert.NotEqual(model.ParameterCount, model.InitialState.Length);
        var reference = await TrainAsync(model, servers: 1);
        foreach (var servers in new[] { 2, 3, 4 })
        {
            var sharded = await TrainAsync(model, servers);
            for (var step = 0; step < reference.States.Count; step++)
                BitExact.Equal(reference.States[step], sharded.States[step], $"{servers} servers, weights after step {step}");
            BitExact.Equal(reference.Final.State, sharded.Final.State, $"{servers} servers, final state");
            BitExact.Equal(reference.Final.Momentum, sharded.Final.Momentum, $"{servers} servers, final momentum");
            BitExact.Equal(reference.Gradient, sharded.Gradient, $"{servers} servers, averaged gradient of step 2");
            Assert.Equal(reference.Final.StepsApplied, sharded.Final.StepsApplied);
            Assert.Equal(reference.Final.WeightsVersion, sharded.Final.WeightsVersion);
            // The norm is summed per range and then across ranges: equal to the last bits or nearly.
            Assert.Equal(reference.Norm, sharded.Norm, reference.Norm * 1e-12);
        }
        Assert.NotEqual(model.InitialState, reference.Final.State);
    }

    [Fact]
    public async Task A_non_finite_contribution_is_refused_naming_its_shard_and_no_server_applies_the_step()
    {
        var group = Sys.ActorOf(ParameterServerGroup.Props(SmallSetup(servers: 3)));
        var afterFirst = await StepAndReadAsync(group, 0, SmallShards(seed: 1));
        var poisoned = SmallShards(seed: 2);
        poisoned[1].Buffer[40] = float.NaN;                 // server 1's range [32, 64)
        poisoned[1].Buffer[90] = float.PositiveInfinity;    // server 2's range [64, 100): a running statistic

        group.Tell(new ApplyStep(1, 0.1, poisoned));

        var refused = await ExpectMsgAsync<ContributionsRefused>();
        Assert.Equal([1], refused.Shards);
        Assert.Equal("shard 1: 2 non-finite values, the first (NaN) at gradient index 40", refused.Reason);
        await AssertUnchangedAsync(group, afterFirst);
        // The same step with good contributions then lands as it does on one server that never saw the poison.
        var reference = Sys.ActorOf(ParameterServerGroup.Props(SmallSetup(servers: 1)));
        await StepAndReadAsync(reference, 0, SmallShards(seed: 1));
        Assert.Equal(await StepAndReadStateAsync(reference, 1, SmallShards(seed: 3)), await StepAndReadStateAsync(group, 1, SmallShards(seed: 3)));
    }

    [Fact]
    public async Task A_divergent_step_is_refused_by_every_server_and_the_momentum_of_those_that_were_ready_restored()
    {
        var group = Sys.ActorOf(ParameterServerGroup.Props(SmallSetup(servers: 3)));
        var afterFirst = await StepAndReadAsync(group, 0, SmallShards(seed: 1));
        var huge = SmallShards(seed: 2);
        huge[0].Buffer[70] = 3e38f;                         // finite, in server 2's trainable part only; servers 0 and 1 are ready

        group.Tell(new ApplyStep(1, 10.0, huge));

        var refused = await ExpectMsgAsync<StepRefused>();
        Assert.Equal(1, refused.Step);
        Assert.StartsWith("the update with learning rate 10 and gradient norm 1.125E+38 makes the weights non-finite", refused.Reason);
        await AssertUnchangedAsync(group, afterFirst);
        var reference = Sys.ActorOf(ParameterServerGroup.Props(SmallSetup(servers: 1)));
        await StepAndReadAsync(reference, 0, SmallShards(seed: 1));
        Assert.Equal(await StepAndReadStateAsync(reference, 1, SmallShards(seed: 3)), await StepAndReadStateAsync(group, 1, SmallShards(seed: 3)));
    }

    [Fact]
    public async Task A_server_that_throws_fails_the_run_and_every_server_keeps_the_state_after_the_last_applied_step()
    {
        var observer = CreateTestProbe();
        var (_, group) = await TrainingRun.StartGuardedAsync(Sys, ParameterServerGroup.Props(SmallSetup(servers: 3),
                setup => setup.Index == 1 ? FailsAtStep.Props(setup, step: 1) : RangeServerActor.Props(setup)),
            "ps", "parameter server", Directive.Resume, observer.Ref);
        var afterFirst = await StepAndReadAsync(group, 0, SmallShards(seed: 1));

        group.Tell(new ApplyStep(1, 0.1, SmallShards(seed: 2)));

        var failed = await observer.ExpectMsgAsync<TrainingFailed>();
        Assert.Equal("the parameter server failed: InvalidOperationException: step 1: parameter server 1 of 3 (state [32, 64)) failed: " +
            "InvalidOperationException: rehearsed failure at step 1", failed.Reason);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        // Servers 0 and 2 had prepared step 1 (their momentum moved); the abort put it back.
        await AssertUnchangedAsync(group, afterFirst);
    }

    private async Task<(List<float[]> States, CurrentParameters Final, float[] Gradient, double Norm)> TrainAsync(RunModel model, int servers)
    {
        var group = Sys.ActorOf(ParameterServerGroup.Props(new ParameterServerSetup((float[])model.InitialState.Clone(), model.ParameterCount,
            model.DecayMask, Sgd, Servers: servers)));
        var states = new List<float[]>();
        float[]? gradient = null;
        var norm = 0.0;
        for (var step = 0; step < 5; step++)
        {
            group.Tell(new ApplyStep(step, 0.05, ModelShards(model, step), IncludeGradient: step == 2));
            var applied = await ExpectMsgAsync<StepApplied>(TimeSpan.FromSeconds(30));
            states.Add(applied.State!);
            if (step == 2) (gradient, norm) = (applied.Gradient!, applied.GradientNorm);
        }
        var final = await group.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(30));
        Sys.Stop(group);
        return (states, final, gradient!, norm);
    }

    /// <summary>Three unequal shards of gradient-sized noise, and running statistics near those a batch would give.</summary>
    private static ShardContribution[] ModelShards(RunModel model, int step)
    {
        var random = new Random(1000 + step);
        return [.. new[] { 17, 17, 16 }.Select((samples, shard) => new ShardContribution(shard, samples,
            Enumerable.Range(0, model.InitialState.Length)
                .Select(i => i < model.ParameterCount ? (float)(random.NextDouble() - 0.5) * 0.02f : 1f + (float)random.NextDouble() * 0.1f)
                .ToArray()))];
    }

    /// <summary>100 values, 80 of them trainable: three servers own [0, 32), [32, 64) and [64, 100).</summary>
    private static ParameterServerSetup SmallSetup(int servers) => new(
        Enumerable.Range(0, 100).Select(i => 1f + i * 0.01f).ToArray(), ParameterCount: 80,
        DecayMask: Enumerable.Range(0, 80).Select(i => i % 3 == 0 ? 0f : 1f).ToArray(), new SgdSettings(0.9, true, 5e-4), Servers: servers);

    private static ShardContribution[] SmallShards(int seed)
    {
        var random = new Random(seed);
        return [new(0, 3, Noise(random)), new(1, 5, Noise(random))];
        static float[] Noise(Random random) => Enumerable.Range(0, 100).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
    }

    private async Task<CurrentParameters> StepAndReadAsync(IActorRef group, long step, ShardContribution[] shards)
    {
        group.Tell(new ApplyStep(step, 0.1, shards));
        await ExpectMsgAsync<StepApplied>();
        return await group.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(10));
    }

    private async Task<float[]> StepAndReadStateAsync(IActorRef group, long step, ShardContribution[] shards) =>
        (await StepAndReadAsync(group, step, shards)).State;

    private static async Task AssertUnchangedAsync(IActorRef group, CurrentParameters before)
    {
        var now = await group.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(10));
        BitExact.Equal(before.State, now.State, "state");
        BitExact.Equal(before.Momentum, now.Momentum, "momentum");
        Assert.Equal(before.WeightsVersion, now.WeightsVersion);
        Assert.Equal(before.StepsApplied, now.StepsApplied);
    }

    [Fact]
    public async Task A_shard_one_range_cannot_read_is_named_and_no_server_applies_the_step_until_it_is_sent_again()
    {
        var group = Sys.ActorOf(ParameterServerGroup.Props(SmallSetup(servers: 3),
            setup => setup.Index == 2 ? CannotReadOnce.Props(setup, step: 1, shard: 1) : RangeServerActor.Props(setup)));
        var afterFirst = await StepAndReadAsync(group, 0, SmallShards(seed: 1));

        group.Tell(new ApplyStep(1, 0.1, SmallShards(seed: 2)));

        var lost = await ExpectMsgAsync<ContributionsLost>();
        Assert.Equal(1, lost.Step);
        Assert.Equal([1], lost.Shards);
        Assert.Equal("range 2: could not fetch shard 1", lost.Reason);
        // Servers 0 and 1 had prepared the step: aborted, momentum restored.
        await AssertUnchangedAsync(group, afterFirst);
        // Sent again (the shard computed anew: here the same values), it lands as on one server that never lost it.
        var reference = Sys.ActorOf(ParameterServerGroup.Props(SmallSetup(servers: 1)));
        await StepAndReadAsync(reference, 0, SmallShards(seed: 1));
        var expected = await StepAndReadAsync(reference, 1, SmallShards(seed: 2));
        var actual = await StepAndReadAsync(group, 1, SmallShards(seed: 2));
        BitExact.Equal(expected.State, actual.State, "state after the step sent again");
        BitExact.Equal(expected.Momentum, actual.Momentum, "momentum after the step sent again");
    }

    /// <summary>A range server that cannot read one shard of one step the first time (as a server node whose worker died); otherwise a real one.</summary>
    private sealed class CannotReadOnce : ReceiveActor
    {
        public CannotReadOnce(RangeServerSetup setup, long step, int shard)
        {
            var inner = Context.ActorOf(RangeServerActor.Props(setup), "inner");
            var failed = false;
            Receive<PrepareStep>(message => message.Step == step && !failed, message =>
            {
                failed = true;
                Sender.Tell(new StepPrepared(message.Step, setup.Index, PrepareOutcome.Unreadable, double.NaN, null, null, [],
                    LostShards: [shard], LostReason: $"range {setup.Index}: could not fetch shard {shard}"));
            });
            ReceiveAny(message => inner.Forward(message));
        }

        public static Props Props(RangeServerSetup setup, long step, int shard) => Akka.Actor.Props.Create(() => new CannotReadOnce(setup, step, shard));
    }

    /// <summary>A range server that throws on one step's prepare; every other message goes to a real one inside it.</summary>
    private sealed class FailsAtStep : ReceiveActor
    {
        public FailsAtStep(RangeServerSetup setup, long step)
        {
            var inner = Context.ActorOf(RangeServerActor.Props(setup), "inner");
            Receive<PrepareStep>(message => message.Step == step, message => throw new InvalidOperationException($"rehearsed failure at step {message.Step}"));
            ReceiveAny(message => inner.Forward(message));
        }

        public static Props Props(RangeServerSetup setup, long step) => Akka.Actor.Props.Create(() => new FailsAtStep(setup, step));
    }
}
