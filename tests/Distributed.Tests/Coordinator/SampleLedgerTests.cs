using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public sealed class SampleLedgerTests
{
    [Fact]
    public void An_epoch_whose_planned_samples_were_each_applied_once_is_clean()
    {
        var ledger = new SampleLedger(6);
        ledger.Plan(0, [4, 1, 3]);
        ledger.Apply(0, [[4], [1, 3]]);
        ledger.Plan(0, [0, 2, 5]);
        ledger.Apply(0, [[0, 2], [5]]);
        Assert.Equal(new SampleTally(6, 0, 0), ledger.Close());
    }

    [Fact]
    public void A_sample_applied_twice_or_never_is_counted_as_duplicated_or_dropped()
    {
        var ledger = new SampleLedger(6);
        ledger.Plan(0, [0, 1, 2]);
        ledger.Apply(0, [[0, 1], [1]]);
        ledger.Plan(0, [3, 4, 5]);
        ledger.Apply(0, [[3, 4], [5]]);
        Assert.Equal(new SampleTally(5, 1, 1), ledger.Close());
    }

    [Fact]
    public void A_resumed_epoch_only_accounts_for_the_steps_this_run_planned_and_totals_add_up()
    {
        var ledger = new SampleLedger(4);
        ledger.Plan(1, [2, 3]);
        ledger.Apply(1, [[2], [3]]);
        Assert.Equal(new SampleTally(2, 0, 0), ledger.Close());
        ledger.Plan(2, [0, 1, 2, 3]);
        ledger.Apply(2, [[0, 1], [2, 3]]);
        ledger.Plan(3, [1]);
        Assert.Equal(new SampleTally(0, 0, 1), ledger.Close());
        Assert.Equal(new SampleTally(6, 0, 1), ledger.Total);
    }

    [Fact]
    public void Samples_of_abandoned_shards_are_skipped_not_dropped_and_applied_plus_skipped_is_every_planned_sample()
    {
        var ledger = new SampleLedger(6);
        ledger.Plan(0, [0, 1, 2]);
        ledger.Apply(0, [[0, 1]]);
        ledger.Skip(0, [[2]]);
        ledger.Plan(0, [3, 4, 5]);
        ledger.Apply(0, [[5]]);
        ledger.Skip(0, [[3, 4]]);
        var epoch = ledger.Close();
        Assert.Equal(new SampleTally(3, 0, 0, 3), epoch);
        Assert.True(epoch.IsClean);
        Assert.Equal(6, epoch.Applied + epoch.Skipped);

        // A planned sample neither applied nor skipped is still dropped.
        ledger.Plan(1, [0, 1, 2]);
        ledger.Apply(1, [[0]]);
        ledger.Skip(1, [[1]]);
        Assert.Equal(new SampleTally(1, 0, 1, 1), ledger.Close());
        Assert.Equal(new SampleTally(4, 0, 1, 4), ledger.Total);
    }
}
