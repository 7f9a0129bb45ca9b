using System.Diagnostics;
using System.Text.Json;
using Distributed.Protocol;
using Distributed.Training.Checkpoints;
using Distributed.Tests.Cluster;

namespace Distributed.Tests.Training;

/// <summary>The `distributed` executable as a user runs it: exit codes, files written, error text.</summary>
public sealed class TrainExecutableTests
{
    private static readonly string Executable = Path.Combine(AppContext.BaseDirectory, "distributed.dll");

    [Fact]
    public async Task Train_runs_to_the_end_and_writes_metrics_and_a_verifiable_checkpoint()
    {
        var output = Directory.CreateTempSubdirectory("train-e2e-").FullName;
        try
        {
            var (exit, stdout, stderr) = await RunAsync("train", "--depth", "8", "--epochs", "1", "--train-limit", "512",
                "--test-limit", "256", "--batch-size", "64", "--workers", "2", "--output", output);

            Assert.True(exit == 0, $"exit {exit}: {stderr}\n{stdout}");
            Assert.Contains("train loss", stdout);
            var rows = File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(line => JsonDocument.Parse(line).RootElement).ToList();
            Assert.Equal(8, rows.Count(r => r.GetProperty("type").GetString() == "step"));
            var epoch = Assert.Single(rows, r => r.GetProperty("type").GetString() == "epoch");
            Assert.InRange(epoch.GetProperty("test_accuracy").GetDouble(), 0.0, 1.0);
            var checkpoint = Checkpoint.Read(output);
            Assert.Equal(8, checkpoint.Header.Step);
            Assert.Equal(checkpoint.Header.StateLength, checkpoint.State.Length);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Theory]
    [InlineData(2, 130)] // SIGINT: Ctrl+C
    [InlineData(15, 143)] // SIGTERM: docker stop, kill, a scheduler's preemption
    public async Task A_stop_signal_ends_the_run_with_a_checkpoint_that_resume_carries_to_the_end(int signal, int expectedExit)
    {
        var output = Directory.CreateTempSubdirectory("train-stop-").FullName;
        string[] options = ["--depth", "8", "--epochs", "3", "--train-limit", "2048", "--test-limit", "256", "--batch-size", "64",
            "--workers", "2", "--no-dashboard", "--output", output];
        const int TotalSteps = 3 * 2048 / 64;
        try
        {
            using (var run = NodeProcess.Start("train", Executable, ["train", .. options], output))
            {
                await WaitForAppliedStepsAsync(output, 3, run);
                Posix.Kill(run.Id, signal);
                var exit = await run.WaitForExitAsync(TimeSpan.FromMinutes(1));

                Assert.True(exit == expectedExit, $"exit {exit}, expected {expectedExit}:\n{run.Tail()}");
                Assert.Contains("Stopped after step", run.Output);
                Assert.DoesNotContain("   at ", run.Output);
            }
            var stoppedAt = Checkpoint.Read(output).Header.Step;
            Assert.InRange(stoppedAt, 3, TotalSteps - 1);

            var (resumedExit, stdout, stderr) = await RunAsync(["train", .. options, "--resume", output]);

            Assert.True(resumedExit == 0, $"resume exit {resumedExit}: {stderr}\n{stdout}");
            Assert.Contains($"at step {stoppedAt}", stdout);
            Assert.Equal(TotalSteps, Checkpoint.Read(output).Header.Step);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>
    /// --precision auto (the default) picks bf16 with channels-last on a CPU with bf16 units and fp32 elsewhere; a run that
    /// started with other choices must resume with them, or it would refuse its own checkpoint (or reach other weights).
    /// bf16 without channels-last is the default on no CPU, so this checks both halves everywhere.
    /// </summary>
    [Fact]
    public async Task A_resumed_run_keeps_the_precision_and_layout_it_started_with_when_the_options_are_left_to_their_defaults()
    {
        var output = Directory.CreateTempSubdirectory("train-precision-").FullName;
        string[] options = ["--depth", "8", "--epochs", "1", "--train-limit", "256", "--test-limit", "128", "--batch-size", "64",
            "--workers", "2", "--no-dashboard", "--output", output];
        try
        {
            var (exit, stdout, stderr) = await RunAsync(["train", .. options, "--precision", "bf16", "--channels-last", "false"]);
            Assert.True(exit == 0, $"exit {exit}: {stderr}\n{stdout}");
            Assert.Contains("Worker compute: bf16" + Environment.NewLine, stdout);

            var (resumedExit, resumed, resumedErrors) = await RunAsync(["train", .. options, "--resume", output]);

            Assert.True(resumedExit == 0, $"resume exit {resumedExit}: {resumedErrors}\n{resumed}");
            Assert.Contains("Worker compute: bf16" + Environment.NewLine, resumed);
            Assert.Equal(Precision.BFloat16, Checkpoint.Read(output).Header.Model.Precision);
            Assert.False(Checkpoint.Read(output).Header.Model.ChannelsLast);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static async Task WaitForAppliedStepsAsync(string output, int steps, NodeProcess run)
    {
        var metrics = Path.Combine(output, "metrics.jsonl");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (StepLines(metrics) < steps)
        {
            if (run.HasExited) throw new Xunit.Sdk.XunitException($"the run ended before step {steps}:\n{run.Tail()}");
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"no step {steps} within 2 minutes:\n{run.Tail()}");
            await Task.Delay(50);
        }
    }

    private static int StepLines(string metrics)
    {
        if (!File.Exists(metrics)) return 0;
        using var reader = new StreamReader(new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var count = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains("\"type\":\"step\"")) count++;
        }
        return count;
    }

    [Theory]
    [InlineData("--depth 19", "depth 19 is not of the form 6n+2")]
    [InlineData("--batch-size 0", "--batch-size 0 must be at least 1")]
    [InlineData("--workers 2 --fault worker-7:nan@3", "there is no worker 'worker-7' in this run")]
    [InlineData("--cluster --fault nan@3", "--fault with --cluster: give each worker node its plan")]
    [InlineData("--keep-checkpoints 0", "--keep-checkpoints 0 must be at least 1")]
    [InlineData("--checkpoint-minutes -1", "--checkpoint-minutes -1 must be >= 0")]
    [InlineData("--dataset fashion-mnist --data /", "Fashion-MNIST file not found")]
    [InlineData("--cluster --ps-shards 2 --server-nodes 2 --staleness 1", "--staleness 1 cannot be combined with --server-nodes 2")]
    [InlineData("--cluster --ps-shards 1 --server-nodes 2", "--server-nodes 2 needs at least as many ranges (--ps-shards 1)")]
    public async Task Train_refuses_bad_input_with_one_clear_line_and_a_failing_exit_code(string arguments, string expected)
    {
        var (exit, stdout, stderr) = await RunAsync(["train", .. arguments.Split(' '), "--output", Path.Combine(Path.GetTempPath(), "never-written")]);
        Assert.NotEqual(0, exit);
        Assert.Contains(expected, stderr + stdout);
        Assert.DoesNotContain("   at ", stderr);
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Executable);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
