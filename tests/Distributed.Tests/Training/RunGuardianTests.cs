using Akka.Actor;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Training;

namespace Distributed.Tests.Training;

public sealed class RunGuardianTests : Akka.TestKit.Xunit2.TestKit
{
    public RunGuardianTests() : base(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false)) { }

    [Fact]
    public async Task An_exception_in_the_parameter_server_fails_the_run_and_keeps_its_state_for_the_checkpoint()
    {
        var observer = CreateTestProbe();
        var (_, server) = await TrainingRun.StartGuardedAsync(Sys, ParameterServerGroup.Props(new ParameterServerSetup(
            [1f, 2f, 3f], ParameterCount: 3, DecayMask: new float[3], new SgdSettings(0, false, 0))), "ps", "parameter server",
            Directive.Resume, observer.Ref);

        // One good step first, so that a restarted server (which would start again from its initial weights) shows.
        var applied = await server.Ask<StepApplied>(new ApplyStep(0, 0.1, [new ShardContribution(0, 4, [1f, 1f, 1f])]), TimeSpan.FromSeconds(5));
        Assert.NotEqual([1f, 2f, 3f], applied.State);

        server.Tell(new ApplyStep(1, 0.1, [new ShardContribution(0, 4, new float[5])]));

        var failed = await observer.ExpectMsgAsync<TrainingFailed>();
        Assert.StartsWith("the parameter server failed: InvalidOperationException: step 1 shard 0: buffer has 5 values", failed.Reason);
        var parameters = await server.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(applied.State, parameters.State);
        Assert.Equal(1, parameters.WeightsVersion);
    }

    [Fact]
    public async Task An_exception_in_the_coordinator_fails_the_run_and_stops_it()
    {
        var observer = CreateTestProbe();
        var (_, child) = await TrainingRun.StartGuardedAsync(Sys, Props.Create(() => new Throwing()), "coordinator", "coordinator", Directive.Stop, observer.Ref);
        Watch(child);

        child.Tell("boom");

        Assert.Equal("the coordinator failed: InvalidOperationException: boom", (await observer.ExpectMsgAsync<TrainingFailed>()).Reason);
        await ExpectTerminatedAsync(child);
    }

    private sealed class Throwing : ReceiveActor
    {
        public Throwing() => Receive<string>(text => throw new InvalidOperationException(text));
    }
}
