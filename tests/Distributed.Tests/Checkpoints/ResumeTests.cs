using Akka.Actor;
using Distributed.Training.Checkpoints;
using Distributed.Training.Hosting;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Tests.Cluster;
using Distributed.Model.Nets;
using Distributed.Training.Workers;

namespace Distributed.Tests.Checkpoints;

/// <summary>
/// Stop a run after a checkpoint, resume it, and it ends exactly where the uninterrupted run ends; a checkpoint
/// from another run or a damaged one is refused with a message that names the file and the difference.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ResumeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("distributed-resume-").FullName;

    private TrainingJob Job(string output) => new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
        new DataSpec("synthetic", null, 2, true, TrainLimit: 512, TestLimit: 64),
        new TrainingPlan(Epochs: 2, GlobalBatch: 32, Seed: 5, new LearningRateSchedule(0.05, ScheduleKind.Linear, 0.5),
            MinimumWorkers: 2, ShardTimeout: TimeSpan.FromSeconds(60)),
        SgdSettings.Default, Workers: 2, ThreadsPerWorker: 1, OutputDirectory: output);

    [Fact]
    public async Task A_run_stopped_after_a_checkpoint_and_resumed_ends_with_the_weights_of_an_uninterrupted_run()
    {
        using var host = TrainingHost.BuildLocal();
        await host.StartAsync();
        var system = TrainingHost.ActorSystemOf(host);
        var total = Job(_directory).Plan.TotalSteps(512);

        var reference = Job(_directory);
        var uninterrupted = await TrainingRun.RunAsync(system, reference, new Silent(), InProcessWorkers.Of(reference), CancellationToken.None);
        Assert.True(uninterrupted.Succeeded, uninterrupted.Failed?.Reason);

        // The interrupted run: a checkpoint every 10 steps, stopped as soon as one is on disk.
        var stoppedDirectory = Path.Combine(_directory, "stopped");
        var job = Job(stoppedDirectory);
        var parameterCount = RunModel.Build(job.Model, job.Plan.Seed).ParameterCount;
        var writer = new CheckpointWriter(job, stoppedDirectory, parameterCount, every: 10);
        using var stop = new CancellationTokenSource();
        var stopped = await TrainingRun.RunAsync(system, job, new CompositeObserverForTests(writer, new StopWhen(() => writer.LastWrittenStep >= 10, stop)),
            InProcessWorkers.Of(job), stop.Token, new TrainingRun.RunOptions(Started: actors => writer.Attach(actors.ParameterServer)));
        Assert.False(stopped.Succeeded);

        var checkpoint = Checkpoint.Read(stoppedDirectory);
        Assert.InRange(checkpoint.Header.Step, 10, total - 1);
        Assert.Empty(checkpoint.Header.DifferencesFrom(job));
        var resumed = await TrainingRun.RunAsync(system, job, new Silent(), InProcessWorkers.Of(job), CancellationToken.None,
            new TrainingRun.RunOptions(new TrainingRun.ResumePoint(checkpoint.State, checkpoint.Momentum, checkpoint.Header.Step, checkpoint.Header.WeightsVersion)));
        Assert.True(resumed.Succeeded, resumed.Failed?.Reason);

        Assert.Equal(total, resumed.Finished!.Steps);
        Assert.Equal(uninterrupted.Parameters!.StepsApplied, resumed.Parameters!.StepsApplied);
        var expected = uninterrupted.Parameters.State;
        var actual = resumed.Parameters.State;
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]) / Math.Max(1.0, Math.Abs(expected[i])));
        Assert.True(worst <= 1e-6, $"resumed weights differ from the uninterrupted run's by up to {worst:G3} (relative)");
        Assert.Equal(uninterrupted.Parameters.Momentum, resumed.Parameters.Momentum);
        await host.StopAsync();
    }

    /// <summary>
    /// Bounded staleness: a checkpoint holds the state after the last applied step, the steps still open are simply
    /// computed again after the resume, and the resumed run applies every remaining step once, in order, within the bound.
    /// </summary>
    [Fact]
    public async Task A_run_under_bounded_staleness_stopped_after_a_checkpoint_resumes_and_applies_every_remaining_step_once()
    {
        using var host = TrainingHost.BuildLocal();
        await host.StartAsync();
        var system = TrainingHost.ActorSystemOf(host);
        var job = Job(_directory) with { Plan = Job(_directory).Plan with { Staleness = 2 } };
        var total = job.Plan.TotalSteps(512);
        var parameterCount = RunModel.Build(job.Model, job.Plan.Seed).ParameterCount;
        var writer = new CheckpointWriter(job, _directory, parameterCount, every: 10);
        using var stop = new CancellationTokenSource();
        var stopped = await TrainingRun.RunAsync(system, job, new CompositeObserverForTests(writer, new StopWhen(() => writer.LastWrittenStep >= 10, stop)),
            InProcessWorkers.Of(job), stop.Token, new TrainingRun.RunOptions(Started: actors => writer.Attach(actors.ParameterServer)));
        Assert.False(stopped.Succeeded);

        var checkpoint = Checkpoint.Read(_directory);
        Assert.InRange(checkpoint.Header.Step, 10, total - 1);
        var steps = new StepsSeen();
        var resumed = await TrainingRun.RunAsync(system, job, steps, InProcessWorkers.Of(job), CancellationToken.None,
            new TrainingRun.RunOptions(new TrainingRun.ResumePoint(checkpoint.State, checkpoint.Momentum, checkpoint.Header.Step, checkpoint.Header.WeightsVersion)));
        Assert.True(resumed.Succeeded, resumed.Failed?.Reason);

        Assert.Equal(total, resumed.Finished!.Steps);
        Assert.Equal(total, resumed.Parameters!.StepsApplied);
        Assert.Equal(Enumerable.Range((int)checkpoint.Header.Step, (int)(total - checkpoint.Header.Step)).Select(i => (long)i), steps.Steps.Select(s => s.Step));
        Assert.All(steps.Steps, s => Assert.InRange(s.MaxStaleness, 0, 2));
        Assert.Equal(new SampleTally((total - checkpoint.Header.Step) * 32, 0, 0), resumed.Finished.Samples);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_run_resumed_at_its_last_step_trains_nothing_more_and_reports_the_test_accuracy_of_its_final_weights()
    {
        using var host = TrainingHost.BuildLocal();
        await host.StartAsync();
        var system = TrainingHost.ActorSystemOf(host);
        var job = Job(_directory);
        var finished = await TrainingRun.RunAsync(system, job, new Silent(), InProcessWorkers.Of(job), CancellationToken.None);
        Assert.True(finished.Succeeded, finished.Failed?.Reason);
        var last = finished.Parameters!;

        // What a run stopped during its final evaluation leaves behind: the state after its last step.
        var resumed = await TrainingRun.RunAsync(system, job, new Silent(), InProcessWorkers.Of(job), CancellationToken.None,
            new TrainingRun.RunOptions(new TrainingRun.ResumePoint(last.State, last.Momentum, last.StepsApplied, last.WeightsVersion)));

        Assert.True(resumed.Succeeded, resumed.Failed?.Reason);
        Assert.Equal(last.StepsApplied, resumed.Parameters!.StepsApplied);
        Assert.Equal(last.State, resumed.Parameters.State);
        Assert.False(double.IsNaN(resumed.Finished!.FinalTestAccuracy), "the final weights were never evaluated");
        Assert.Equal(finished.Finished!.FinalTestAccuracy, resumed.Finished.FinalTestAccuracy);
        await host.StopAsync();
    }

    [Fact]
    public void A_checkpoint_lists_every_setting_in_which_another_run_differs()
    {
        var job = Job(_directory);
        var header = FakeCheckpoint(job).Header;
        Assert.Empty(header.DifferencesFrom(job));
        Assert.Empty(header.DifferencesFrom(job with { Workers = 7, Data = job.Data with { Path = "/elsewhere" } }));

        var other = job with
        {
            Model = job.Model with { Depth = 14 },
            Plan = job.Plan with { Seed = 6, Schedule = job.Plan.Schedule with { PeakLearningRate = 0.1 } },
            LabelSmoothing = 0.1,
        };
        var differences = header.DifferencesFrom(other);
        Assert.Contains(differences, d => d.StartsWith("model: checkpoint resnet-8, this run resnet-14"));
        Assert.Contains(differences, d => d.StartsWith("--seed: checkpoint 5, this run 6"));
        Assert.Contains(differences, d => d.StartsWith("peak learning rate"));
        Assert.Contains(differences, d => d.StartsWith("--label-smoothing: checkpoint 0, this run 0.1"));
        // Flip averaging scores the test set differently but trains the same weights: a resume may switch it.
        Assert.Empty(header.DifferencesFrom(job with { FlipAveragedEvaluation = true }));
    }

    [Fact]
    public async Task The_command_line_refuses_a_checkpoint_of_another_model_naming_the_difference()
    {
        var directory = Path.Combine(_directory, "other-model");
        FakeCheckpoint(Job(directory)).Write(directory);
        var (code, output) = await RunCliAsync("train", "--resume", directory, "--depth", "14", "--dataset", "synthetic",
            "--train-limit", "512", "--test-limit", "64", "--epochs", "2", "--batch-size", "32", "--seed", "5", "--lr", "0.05",
            "--warmup-epochs", "0.5", "--workers", "2");
        Assert.Equal(2, code);
        Assert.Contains($"--resume {directory}", output);
        Assert.Contains("model: checkpoint resnet-8, this run resnet-14", output);
    }

    [Fact]
    public async Task On_resume_an_unset_warmup_or_label_smoothing_is_the_checkpoints_not_the_default_for_the_epochs()
    {
        // The checkpoint's run: 2 epochs, warmup 0.5, ε = 0; the default for 2 epochs today is warmup 0.3, ε = 0.1.
        var directory = Path.Combine(_directory, "recipe");
        FakeCheckpoint(Job(directory)).Write(directory);
        string[] same = ["train", "--resume", directory, "--depth", "8", "--dataset", "synthetic", "--train-limit", "512", "--test-limit", "64",
            "--epochs", "2", "--batch-size", "32", "--seed", "5", "--workers", "2"];
        // The fake state does not fit the model, so each attempt is refused: what matters is which settings it names.
        var (code, output) = await RunCliAsync(same);
        Assert.Equal(2, code);
        Assert.Contains("state length", output);
        Assert.DoesNotContain("--warmup-epochs", output);
        Assert.DoesNotContain("--label-smoothing", output);

        (code, output) = await RunCliAsync([.. same, "--warmup-epochs", "0.3", "--label-smoothing", "0.1"]);
        Assert.Equal(2, code);
        Assert.Contains("--warmup-epochs: checkpoint 0.5, this run 0.3", output);
        Assert.Contains("--label-smoothing: checkpoint 0, this run 0.1", output);
    }

    [Fact]
    public async Task The_command_line_refuses_a_corrupt_checkpoint_naming_the_file()
    {
        var directory = Path.Combine(_directory, "corrupt");
        FakeCheckpoint(Job(directory)).Write(directory);
        var path = Path.Combine(directory, Checkpoint.FileName);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        var (code, output) = await RunCliAsync("train", "--resume", directory, "--dataset", "synthetic");
        Assert.Equal(2, code);
        Assert.Contains($"{path}: checksum mismatch", output);

        File.WriteAllBytes(path, bytes.AsSpan(0, 20).ToArray());
        (code, output) = await RunCliAsync("train", "--resume", directory, "--dataset", "synthetic");
        Assert.Equal(2, code);
        Assert.Contains($"{path}: not a Distributed checkpoint", output);
    }

    private static Checkpoint FakeCheckpoint(TrainingJob job)
    {
        var state = Enumerable.Range(0, 100).Select(i => i * 0.5f).ToArray();
        var momentum = Enumerable.Range(0, 60).Select(i => -i * 0.25f).ToArray();
        return Checkpoint.From(job, new CurrentParameters(40, state, momentum, 40), momentum.Length, stepsPerEpoch: 16);
    }

    private async Task<(int Code, string Output)> RunCliAsync(params string[] arguments)
    {
        using var process = NodeProcess.Start("distributed", BuildOutput.Coordinator, arguments, _directory);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(100); // let the last output lines arrive
        return (code, process.Output);
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

    private sealed class Silent : ITrainingObserver;

    private sealed class StepsSeen : ITrainingObserver
    {
        public List<StepCompleted> Steps { get; } = [];
        public void OnStep(StepCompleted step) { lock (Steps) Steps.Add(step); }
    }

    private sealed class StopWhen(Func<bool> condition, CancellationTokenSource stop) : ITrainingObserver
    {
        public void OnStep(StepCompleted step)
        {
            if (condition()) stop.Cancel();
        }
    }

    private sealed class CompositeObserverForTests(params ITrainingObserver[] observers) : ITrainingObserver
    {
        public void OnStep(StepCompleted step) { foreach (var o in observers) o.OnStep(step); }
    }
}
