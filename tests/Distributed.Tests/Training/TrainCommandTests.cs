using System.CommandLine;
using Distributed.Cli.Commands;
using Distributed.Observability;
using Distributed.Protocol;

namespace Distributed.Tests.Training;

public sealed class TrainCommandTests
{
    [Fact]
    public void With_no_arguments_train_means_resnet20_on_fashion_mnist_with_in_process_workers()
    {
        var job = TrainCommand.Parse();
        // What the workers compute in depends on the CPU (ComputePolicy), the network does not.
        Assert.Equal(ModelSpec.ResNet20FashionMnist, job.Model with { Precision = Precision.Float32, ChannelsLast = false });
        Assert.Equal("fashion-mnist", job.Data.Name);
        Assert.Equal(Environment.ProcessorCount, job.Workers);
        Assert.Equal(128, job.Plan.GlobalBatch);
        Assert.Equal(0.1, job.Plan.Schedule.PeakLearningRate, 9);
    }

    [Fact]
    public void The_default_precision_is_bf16_with_channels_last_on_a_CPU_with_bf16_units_and_fp32_elsewhere()
    {
        var model = TrainCommand.Parse().Model;
        var native = Distributed.Model.Runtime.Bf16Hardware.OnThisCpu == Distributed.Model.Runtime.Bf16Hardware.Capability.Native;
        Assert.Equal(native ? Precision.BFloat16 : Precision.Float32, model.Precision);
        Assert.Equal(native, model.ChannelsLast);
    }

    [Theory]
    [InlineData("--precision fp32", Precision.Float32, false)]
    [InlineData("--precision bf16", Precision.BFloat16, true)]
    [InlineData("--precision bf16 --channels-last false", Precision.BFloat16, false)]
    [InlineData("--precision fp32 --channels-last", Precision.Float32, true)]
    [InlineData("--precision fp32 --channels-last true", Precision.Float32, true)]
    public void Precision_and_layout_on_the_command_line_set_the_workers_compute(string arguments, Precision precision, bool channelsLast)
    {
        var model = TrainCommand.Parse(arguments.Split(' ')).Model;
        Assert.Equal((precision, channelsLast), (model.Precision, model.ChannelsLast));
    }

    [Theory]
    [InlineData("--precision fp16", "--precision 'fp16' is not one of: auto, fp32, bf16")]
    [InlineData("--channels-last maybe", "Unrecognized command or argument 'maybe'")] // a switch takes only true or false as its value
    public void Bad_precision_or_layout_values_are_refused_by_name(string arguments, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => TrainCommand.Parse(arguments.Split(' ')));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void One_parameter_server_unless_ps_shards_asks_for_more()
    {
        Assert.Equal(1, TrainCommand.Parse().ParameterServers);
        Assert.Equal(4, TrainCommand.Parse("--ps-shards", "4").ParameterServers);
    }

    [Fact]
    public void Speculative_copies_of_straggling_shards_are_on_unless_no_speculate_turns_them_off()
    {
        Assert.True(TrainCommand.Parse().Plan.Speculate);
        Assert.False(TrainCommand.Parse("--no-speculate").Plan.Speculate);
    }

    [Fact]
    public void Every_epoch_is_evaluated_unless_evaluate_every_skips_some_and_a_negative_count_is_refused_by_name()
    {
        Assert.Equal(1, TrainCommand.Parse().Plan.EvaluateEvery);
        Assert.Equal(0, TrainCommand.Parse("--evaluate-every", "0").Plan.EvaluateEvery);
        Assert.Equal(3, TrainCommand.Parse("--evaluate-every", "3").Plan.EvaluateEvery);
        var error = Assert.Throws<ArgumentException>(() => TrainCommand.Parse("--evaluate-every", "-1"));
        Assert.Contains("--evaluate-every -1 must be >= 0", error.Message);
    }

    [Fact]
    public void Staleness_is_zero_synchronous_unless_asked_for_and_the_plan_with_zero_is_the_plan_without_the_flag()
    {
        Assert.Equal(0, TrainCommand.Parse().Plan.Staleness);
        Assert.Equal(TrainCommand.Parse().Plan, TrainCommand.Parse("--staleness", "0").Plan);
        Assert.Equal(4, TrainCommand.Parse("--staleness", "4").Plan.Staleness);
    }

    [Fact]
    public void Backup_workers_are_off_unless_asked_for_and_what_they_mean_is_said_in_the_runs_numbers()
    {
        Assert.Equal(0, TrainCommand.Parse().Plan.BackupWorkers);
        Assert.Null(TrainCommand.BackupWorkersLine(TrainCommand.Parse().Plan));
        var plan = TrainCommand.Parse("--workers", "2", "--backup-workers", "1").Plan;
        Assert.Equal(1, plan.BackupWorkers);
        var line = TrainCommand.BackupWorkersLine(plan)!;
        Assert.Contains("with 2 workers the first 1", line);
        Assert.Contains("about 64 of the 128 samples", line);
        // With --cluster the bound is --min-workers, known later; --workers does not limit it.
        Assert.Equal(3, TrainCommand.Parse("--cluster", "--workers", "2", "--backup-workers", "3").Plan.BackupWorkers);
    }

    [Fact]
    public async Task Bounded_staleness_with_backup_workers_is_refused_before_anything_starts_with_exit_code_2()
    {
        // Every other option is valid and small: were the combination let through, this would train a step and exit 0.
        var output = Path.Combine(Path.GetTempPath(), $"distributed-refused-{Guid.NewGuid():N}");
        var code = await new RootCommand { TrainCommand.Create() }.Parse(["train", "--staleness", "1", "--backup-workers", "1", "--workers", "2",
            "--dataset", "synthetic", "--train-limit", "64", "--test-limit", "32", "--epochs", "1", "--batch-size", "32", "--max-steps", "1",
            "--output", output]).InvokeAsync();
        Assert.Equal(2, code);
        Assert.False(Directory.Exists(output));
        // Each alone is accepted.
        Assert.Equal(1, TrainCommand.Parse("--staleness", "1", "--workers", "2").Plan.Staleness);
        Assert.Equal(1, TrainCommand.Parse("--backup-workers", "1", "--workers", "2").Plan.BackupWorkers);
    }

    [Fact]
    public void The_learning_rate_scales_linearly_with_the_global_batch()
    {
        Assert.Equal(0.4, TrainCommand.Parse("--batch-size", "512").Plan.Schedule.PeakLearningRate, 9);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("--epochs 15", true)]
    [InlineData("--augment on", true)]
    [InlineData("--epochs 15 --augment off", false)]
    [InlineData("--epochs 15 --no-augment", false)]
    public void Short_runs_train_on_the_images_as_they_are_and_long_runs_augment_them(string arguments, bool augmented)
    {
        var data = TrainCommand.Parse(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Data;
        Assert.Equal(augmented, data.HorizontalFlip);
        Assert.Equal(augmented ? 2 : 0, data.CropPadding);
    }

    [Fact]
    public void Augment_flip_mirrors_without_cropping_and_the_recipe_options_reach_the_job()
    {
        var job = TrainCommand.Parse("--augment", "flip", "--label-smoothing", "0.1", "--test-flip");
        Assert.True(job.Data.HorizontalFlip);
        Assert.Equal(0, job.Data.CropPadding);
        Assert.Equal(0.1, job.LabelSmoothing);
        Assert.True(job.FlipAveragedEvaluation);
        var defaults = TrainCommand.Parse();
        Assert.False(defaults.FlipAveragedEvaluation);
    }

    [Theory]
    [InlineData("", 0.3, 0.1)]
    [InlineData("--epochs 1", 0.3, 0.1)]
    [InlineData("--epochs 4", 0.3, 0.1)]
    [InlineData("--epochs 5", 1.0, 0.0)]
    [InlineData("--epochs 15", 1.0, 0.0)]
    [InlineData("--warmup-epochs 1", 1.0, 0.1)]
    [InlineData("--label-smoothing 0", 0.3, 0.0)]
    [InlineData("--warmup-epochs 1 --label-smoothing 0", 1.0, 0.0)]
    [InlineData("--epochs 15 --warmup-epochs 0.3 --label-smoothing 0.1", 0.3, 0.1)]
    public void Runs_of_up_to_four_epochs_default_to_a_short_warmup_and_label_smoothing_and_a_value_given_wins(
        string arguments, double warmupEpochs, double labelSmoothing)
    {
        var job = TrainCommand.Parse(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(warmupEpochs, job.Plan.Schedule.WarmupEpochs);
        Assert.Equal(labelSmoothing, job.LabelSmoothing);
    }

    [Theory]
    [InlineData("", "Recipe: a 0.3-epoch warmup and label smoothing 0.1, the defaults for runs of up to 4 epochs")]
    [InlineData("--label-smoothing 0", "Recipe: a 0.3-epoch warmup, the default for runs of up to 4 epochs")]
    [InlineData("--epochs 4 --warmup-epochs 0.5", "Recipe: label smoothing 0.1, the default for runs of up to 4 epochs")]
    [InlineData("--warmup-epochs 0.3 --label-smoothing 0.1", null)]
    [InlineData("--epochs 5", null)]
    public void A_run_says_which_of_its_values_came_from_the_short_run_defaults(string arguments, string? expected)
    {
        var args = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var line = TrainCommand.ShortRunRecipeLine(TrainCommand.Create().Parse(args), TrainCommand.Parse(args));
        if (expected is null) Assert.Null(line);
        else Assert.StartsWith(expected, line);
    }

    [Theory]
    [InlineData("--augment sideways", "--augment 'sideways' is not one of: auto, on, flip, off")]
    [InlineData("--augment flip --no-augment", "--no-augment contradicts --augment flip")]
    [InlineData("--label-smoothing 1", "--label-smoothing 1 must be in [0, 1)")]
    [InlineData("--label-smoothing -0.1", "--label-smoothing -0.1 must be in [0, 1)")]
    [InlineData("--augment on --no-augment", "--no-augment contradicts --augment on")]
    [InlineData("--warmup-epochs -0.5", "--warmup-epochs -0.5 must be between 0 and --epochs (3)")]
    [InlineData("--epochs 2 --warmup-epochs 3", "--warmup-epochs 3 must be between 0 and --epochs (2)")]
    [InlineData("--warmup-epochs abc", "--warmup-epochs 'abc' is not a number")]
    [InlineData("--label-smoothing 1e", "--label-smoothing '1e' is not a number")]
    [InlineData("--depth 21", "depth 21")]
    [InlineData("--model dense", "--model 'dense'")]
    [InlineData("--norm layer", "--norm 'layer'")]
    [InlineData("--workers 0", "--workers 0")]
    [InlineData("--lr -1", "--lr -1")]
    [InlineData("--epochs 0", "--epochs 0")]
    [InlineData("--dataset imagenet", "--dataset 'imagenet'")]
    [InlineData("--data /nonexistent/dir", "/nonexistent/dir")]
    [InlineData("--dataset cifar10", "--data DIR")]
    [InlineData("--depth twenty", "twenty")]
    [InlineData("--ps-shards 0", "--ps-shards 0 must be between 1 and 64")]
    [InlineData("--ps-shards 65", "--ps-shards 65 must be between 1 and 64")]
    [InlineData("--staleness -1", "--staleness -1 must be between 0 (synchronous) and 64")]
    [InlineData("--staleness 65", "--staleness 65 must be between 0 (synchronous) and 64")]
    [InlineData("--backup-workers -1", "--backup-workers -1 must be >= 0")]
    [InlineData("--workers 2 --backup-workers 2", "--backup-workers 2 must be less than --workers 2")]
    [InlineData("--workers 3 --staleness 2 --backup-workers 1", "--staleness 2 cannot be combined with --backup-workers 1")]
    [InlineData("--cluster --min-workers 3 --backup-workers 1 --staleness 1", "--staleness 1 cannot be combined with --backup-workers 1")]
    public void A_bad_value_is_refused_with_a_message_naming_the_option_and_value(string arguments, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => TrainCommand.Parse(arguments.Split(' ')));
        Assert.Contains(expected, error.Message);
    }
}
