using Distributed.Coordinator;
using Distributed.Model.Data;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Training;
using Distributed.Training.Checkpoints;

namespace Distributed.Tests.Checkpoints;

/// <summary>Periodic checkpoints by default, the last K kept, nothing non-finite written, and a resume that checks what must match.</summary>
public sealed class CheckpointPolicyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("distributed-checkpoints-").FullName;

    private static TrainingJob Job(string output) => new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
        new DataSpec("synthetic", null, 0, false, TrainLimit: 512, TestLimit: 64),
        new TrainingPlan(Epochs: 2, GlobalBatch: 32, Seed: 5, new LearningRateSchedule(0.05, ScheduleKind.Linear, 0.5),
            MinimumWorkers: 2, ShardTimeout: TimeSpan.FromSeconds(60)),
        SgdSettings.Default, Workers: 2, ThreadsPerWorker: 1, OutputDirectory: output);

    [Fact]
    public void By_default_a_checkpoint_is_due_every_ten_minutes_whatever_the_step()
    {
        var schedule = CheckpointSchedule.Default;
        Assert.False(schedule.Due(7, TimeSpan.FromMinutes(9.9)));
        Assert.True(schedule.Due(7, TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public void Steps_and_minutes_each_make_a_checkpoint_due_and_neither_means_only_at_the_end()
    {
        var both = new CheckpointSchedule(100, TimeSpan.FromMinutes(5));
        Assert.True(both.Due(200, TimeSpan.Zero));
        Assert.False(both.Due(201, TimeSpan.FromMinutes(1)));
        Assert.True(both.Due(201, TimeSpan.FromMinutes(5)));
        var never = new CheckpointSchedule(0, null);
        Assert.False(never.Due(100, TimeSpan.FromDays(1)));
        Assert.Equal("at the end only", never.ToString());
    }

    [Fact]
    public void Only_the_newest_step_files_are_kept_and_other_files_are_never_touched()
    {
        var files = new[] { "checkpoint-00000010.bin", "checkpoint-00000200.bin", "checkpoint-00000030.bin", "checkpoint.bin", "metrics.jsonl", "checkpoint-00000040.bin" };
        Assert.Equal(["checkpoint-00000030.bin", "checkpoint-00000010.bin"], CheckpointRetention.ToDelete(files, keep: 2));
        Assert.Empty(CheckpointRetention.ToDelete(files, keep: 10));
    }

    [Fact]
    public void Each_write_lands_under_its_step_and_as_checkpoint_bin_and_only_the_last_k_step_files_remain()
    {
        var job = Job(_directory);
        foreach (var step in new long[] { 10, 20, 30, 40 }) Fake(job, step).Write(_directory, keep: 3);

        var names = Directory.EnumerateFiles(_directory).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["checkpoint-00000020.bin", "checkpoint-00000030.bin", "checkpoint-00000040.bin", "checkpoint.bin"], names);
        Assert.Equal(40, Checkpoint.Read(_directory).Header.Step);
        var older = Checkpoint.Read(Path.Combine(_directory, "checkpoint-00000030.bin"));
        Assert.Equal(30, older.Header.Step);
        Assert.Equal(Fake(job, 30).State, older.State);
    }

    [Fact]
    public async Task A_state_with_a_NaN_is_not_written_and_the_last_good_checkpoint_stays()
    {
        var job = Job(_directory);
        var log = new StringWriter();
        var writer = new CheckpointWriter(job, _directory, 60, CheckpointSchedule.Default, log: log);
        var good = Fake(job, 10);
        Assert.True(await writer.WriteFinalAsync(new CurrentParameters(10, good.State, good.Momentum, 10)));

        var poisoned = (float[])good.State.Clone();
        poisoned[3] = float.NaN;
        Assert.False(await writer.WriteFinalAsync(new CurrentParameters(11, poisoned, good.Momentum, 11)));

        Assert.Equal(10, Checkpoint.Read(_directory).Header.Step);
        Assert.Contains("not written: its state holds NaN or infinity", log.ToString());
    }

    [Fact]
    public void Resume_names_a_different_state_length_dataset_or_steps_per_epoch()
    {
        var job = Job(_directory);
        var data = new DatasetFingerprint("00112233aabbccdd", 512, 64);
        var header = Fake(job, 40, data).Header;
        Assert.Empty(header.DifferencesFrom(job, 100, data));
        Assert.Empty(header.DifferencesFrom(job, 100, null)); // a cluster coordinator does not know the data: not compared

        Assert.Contains("state length: checkpoint 100 floats, this run's model 120", Assert.Single(header.DifferencesFrom(job, 120, data)));
        Assert.Contains("dataset fingerprint: checkpoint 00112233aabbccdd, this run ffff", Assert.Single(header.DifferencesFrom(job, 100, data with { Hash = "ffff" })));
        var resized = header.DifferencesFrom(job, 100, data with { TrainCount = 640 });
        Assert.Contains(resized, d => d.StartsWith("dataset size: checkpoint 512 train / 64 test samples, this run 640 / 64"));
        Assert.Contains(resized, d => d.StartsWith("steps per epoch: checkpoint 16, this run 20"));
    }

    [Fact]
    public void The_fingerprint_changes_with_the_samples_and_their_number_and_not_otherwise()
    {
        var (train, test) = Synthetic();
        var same = DatasetFingerprint.Of(train, test);
        Assert.Equal(same, DatasetFingerprint.Of(Synthetic().Train, Synthetic().Test));
        Assert.Equal((train.Count, test.Count), (same.TrainCount, same.TestCount));
        Assert.NotEqual(same, DatasetFingerprint.Of(train.Take(train.Count - 1), test));

        var pixels = train.Pixels.ToArray();
        pixels[0] ^= 0xff; // sample 0 is always among the sampled ones
        var changed = new ImageDataset(train.Name, train.Channels, train.Height, train.Width, train.ClassCount, pixels, train.Labels.ToArray());
        Assert.NotEqual(same.Hash, DatasetFingerprint.Of(changed, test).Hash);
    }

    private static (ImageDataset Train, ImageDataset Test) Synthetic()
    {
        var pair = DatasetCatalog.Load(DatasetCatalog.SyntheticName, null);
        return (pair.Train.Take(200), pair.Test.Take(50));
    }

    private static Checkpoint Fake(TrainingJob job, long step, DatasetFingerprint? data = null)
    {
        var state = Enumerable.Range(0, 100).Select(i => i * 0.5f + step).ToArray();
        var momentum = Enumerable.Range(0, 60).Select(i => -i * 0.25f).ToArray();
        return Checkpoint.From(job, new CurrentParameters(step, state, momentum, step), momentum.Length, stepsPerEpoch: 16, data);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
