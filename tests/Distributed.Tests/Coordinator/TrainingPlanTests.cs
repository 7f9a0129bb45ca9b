using Distributed.Coordinator;

namespace Distributed.Tests.Coordinator;

public sealed class TrainingPlanTests
{
    private static readonly TrainingPlan Plan = new(1, 32, 1, new LearningRateSchedule(0.1, ScheduleKind.Constant, 0), 3, TimeSpan.FromSeconds(1));

    [Fact]
    public void Bounded_staleness_and_backup_workers_are_refused_together_whichever_is_set_last()
    {
        // The plan is also built outside the command line (tests, experiments, resume), so the refusal is the plan's own.
        Assert.Contains("cannot be combined", Assert.Throws<ArgumentException>(() => Plan with { Staleness = 1, BackupWorkers = 1 }).Message);
        Assert.Contains("cannot be combined", Assert.Throws<ArgumentException>(() => Plan with { BackupWorkers = 2, Staleness = 3 }).Message);
        var backup = Plan with { BackupWorkers = 1 };
        Assert.Throws<ArgumentException>(() => backup with { Staleness = 1 });
        var stale = Plan with { Staleness = 2 };
        Assert.Throws<ArgumentException>(() => stale with { BackupWorkers = 1 });
    }

    [Fact]
    public void Either_alone_is_kept_and_zero_of_the_other_is_no_combination()
    {
        Assert.Equal((1, 0), ((Plan with { BackupWorkers = 1, Staleness = 0 }).BackupWorkers, (Plan with { BackupWorkers = 1, Staleness = 0 }).Staleness));
        Assert.Equal((0, 4), ((Plan with { Staleness = 4, BackupWorkers = 0 }).BackupWorkers, (Plan with { Staleness = 4, BackupWorkers = 0 }).Staleness));
        Assert.Throws<ArgumentOutOfRangeException>(() => Plan with { BackupWorkers = -1 });
    }
}
