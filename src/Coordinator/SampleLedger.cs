using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// The ledger of training samples: per epoch, which samples the order planned for the steps this coordinator ran,
/// and how often each was in an applied step. Every planned sample must be applied exactly once, whatever workers
/// died, answered late or twice; <see cref="Close"/> says how many were applied, duplicated and dropped. With backup
/// workers a step may go ahead without some shards: their samples are recorded as skipped, a count of their own,
/// so a deliberate omission is never mistaken for a dropped sample and never hidden either.
/// </summary>
public sealed class SampleLedger(int trainCount)
{
    private readonly bool[] _planned = new bool[trainCount];
    private readonly int[] _applied = new int[trainCount];
    private readonly bool[] _skipped = new bool[trainCount];
    private int _epoch = -1;
    private long _appliedOnce;
    private long _duplicated;
    private long _skippedCount;

    public SampleTally Total { get; private set; } = new(0, 0, 0);

    /// <summary>A training step of <paramref name="epoch"/> starts with these samples.</summary>
    public void Plan(int epoch, ReadOnlySpan<int> batch)
    {
        Open(epoch);
        foreach (var sample in batch) _planned[sample] = true;
    }

    /// <summary>A step of <paramref name="epoch"/> was applied with these shards' samples.</summary>
    public void Apply(int epoch, IEnumerable<int[]> shards)
    {
        Open(epoch);
        foreach (var shard in shards)
        {
            foreach (var sample in shard)
            {
                // A sample applied again, or one the order never planned, is a duplicate: it weighs twice in the epoch.
                if (_applied[sample]++ == 0 && _planned[sample]) _appliedOnce++;
                else _duplicated++;
            }
        }
    }

    /// <summary>A step of <paramref name="epoch"/> went ahead without these shards (abandoned by backup workers): their samples are skipped.</summary>
    public void Skip(int epoch, IEnumerable<int[]> shards)
    {
        Open(epoch);
        foreach (var shard in shards)
        {
            foreach (var sample in shard)
            {
                if (_skipped[sample]) continue;
                _skipped[sample] = true;
                _skippedCount++;
            }
        }
    }

    /// <summary>The epoch's account; the ledger then starts afresh.</summary>
    public SampleTally Close()
    {
        long dropped = 0;
        for (var i = 0; i < _planned.Length; i++)
        {
            if (_planned[i] && _applied[i] == 0 && !_skipped[i]) dropped++;
        }
        var tally = new SampleTally(_appliedOnce, _duplicated, dropped, _skippedCount);
        Total = Total.Plus(tally);
        Reset();
        return tally;
    }

    private void Open(int epoch)
    {
        if (epoch == _epoch) return;
        if (_epoch >= 0) Close();
        _epoch = epoch;
    }

    private void Reset()
    {
        Array.Clear(_planned);
        Array.Clear(_applied);
        Array.Clear(_skipped);
        _appliedOnce = 0;
        _skippedCount = 0;
        _duplicated = 0;
        _epoch = -1;
    }
}
