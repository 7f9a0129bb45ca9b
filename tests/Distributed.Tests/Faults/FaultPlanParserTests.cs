using Distributed.Worker.Faults;

namespace Distributed.Tests.Faults;

public sealed class FaultPlanParserTests
{
    private static readonly string[] TwoWorkers = ["worker-0", "worker-1"];

    [Fact]
    public void A_node_plan_reads_every_kind_of_fault_from_commas_and_repeated_options()
    {
        var plan = FaultPlanParser.ParseForNode(["nan@120,crash@200", "hang@150", "slow=3x", "slow=1.5x@40", "crash-after@7"]);
        Assert.Equal(
            [new Fault(FaultKind.Nan, 120), new Fault(FaultKind.Crash, 200), new Fault(FaultKind.Hang, 150), new Fault(FaultKind.Slow, 1, 3), new Fault(FaultKind.Slow, 40, 1.5),
                new Fault(FaultKind.CrashAfterAnswer, 7)],
            plan.Faults);
        Assert.True(plan.CrashExitsProcess);
        Assert.Equal("nan@120,crash@200,hang@150,slow=3x,slow=1.5x@40,crash-after@7", plan.ToString());
    }

    [Fact]
    public void One_shot_faults_fire_at_their_shard_only_and_slowness_lasts_from_its_shard_on()
    {
        var plan = FaultPlanParser.ParseForNode(["nan@3,slow=2x@5,slow=4x@10"]);
        Assert.False(plan.Fires(FaultKind.Nan, 2));
        Assert.True(plan.Fires(FaultKind.Nan, 3));
        Assert.False(plan.Fires(FaultKind.Nan, 4));
        Assert.False(plan.Fires(FaultKind.Crash, 3));
        Assert.Equal(1, plan.Slowdown(4));
        Assert.Equal(2, plan.Slowdown(5));
        Assert.Equal(4, plan.Slowdown(1000));
    }

    [Fact]
    public void An_empty_plan_is_no_plan()
    {
        Assert.True(FaultPlanParser.ParseForNode([""]).IsEmpty);
        Assert.Empty(FaultPlanParser.ParseByWorker([], TwoWorkers));
    }

    [Fact]
    public void In_one_process_each_entry_names_its_worker()
    {
        var plans = FaultPlanParser.ParseByWorker(["worker-1:slow=3x", "worker-0:nan@7,worker-1:hang@9"], TwoWorkers);
        Assert.Equal([new Fault(FaultKind.Nan, 7)], plans["worker-0"].Faults);
        Assert.Equal([new Fault(FaultKind.Slow, 1, 3), new Fault(FaultKind.Hang, 9)], plans["worker-1"].Faults);
        Assert.False(plans["worker-1"].CrashExitsProcess);
    }

    [Theory]
    [InlineData("nan", "nan needs the training shard it happens at, e.g. nan@120")]
    [InlineData("crash@", "'@' is not a training shard number")]
    [InlineData("hang@0", "'@0' is not a training shard number (1 or more)")]
    [InlineData("hang@-3", "'@-3' is not a training shard number")]
    [InlineData("boom@3", "unknown fault 'boom' (expected nan@K, crash@K, crash-after@K, hang@K or slow=Fx[@K])")]
    [InlineData("slow=3", "slow needs a factor between 1 and 1000 followed by x, e.g. slow=3x")]
    [InlineData("slow=0.5x", "slow needs a factor")]
    [InlineData("slow", "slow needs a factor")]
    [InlineData("worker-1:nan@3", "a worker node's plan applies to the node itself; drop the 'worker-1:' prefix")]
    public void A_bad_node_plan_is_refused_naming_the_entry(string text, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => FaultPlanParser.ParseForNode([text]));
        Assert.Contains($"--fault '{text}'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("nan@3", "in one process name the worker it applies to, e.g. worker-0:nan@3")]
    [InlineData("worker-7:nan@3", "there is no worker 'worker-7' in this run (workers: worker-0, worker-1)")]
    [InlineData("worker-1:slow=x", "slow needs a factor")]
    public void A_bad_in_process_plan_is_refused_naming_the_entry(string text, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => FaultPlanParser.ParseByWorker([text], TwoWorkers));
        Assert.Contains(expected, error.Message);
    }
}
