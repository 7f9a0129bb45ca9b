using System.Globalization;
using Distributed.Experiments;

namespace Distributed.Tests.Experiments;

/// <summary>
/// One quick run of <c>experiment depth</c> on the real Fashion-MNIST through the distributed trainer, shared by the
/// tests that read its outputs: 4 models × 96 steps, 80–90 s on a shared 2-core machine. The margins asserted below
/// are a fraction of the measured ones (plain-32 +22 % and +38 % over plain-8 for seeds 1 and 2; resnet-32 −29 % below
/// resnet-8), so the test fails only if the effect is gone, not on a slightly different float sum.
/// </summary>
public sealed class QuickDepthRun : IDisposable
{
    public static readonly int Shallow = DepthOptions.Quick.Depths.Min();
    public static readonly int Deep = DepthOptions.Quick.Depths.Max();
    public static readonly int Epochs = DepthOptions.Quick.Epochs;

    // Two workers whatever the host: with batch norm each shard is normalised on its own, so the worker count is part
    // of what the numbers below were measured with.
    public ExperimentRun Run { get; } = new("experiment", "depth", "--quick", "--workers", "2");

    public List<Dictionary<string, string>> EpochRows { get; }

    public QuickDepthRun() => EpochRows = Run.ExitCode == 0 ? Run.ReadCsv(DepthReport.EpochsCsv) : [];

    public double FinalTrainLoss(string model) =>
        double.Parse(EpochRows.Single(r => r["model"] == model && r["epoch"] == $"{Epochs}")["train_loss"], CultureInfo.InvariantCulture);

    public void Dispose() => Run.Dispose();
}

public class DepthExperimentTests(QuickDepthRun small) : IClassFixture<QuickDepthRun>
{
    private static readonly string[] Models =
        [$"plain-{QuickDepthRun.Shallow}", $"plain-{QuickDepthRun.Deep}", $"resnet-{QuickDepthRun.Shallow}", $"resnet-{QuickDepthRun.Deep}"];

    [Fact]
    public void The_run_succeeds_and_ends_by_printing_its_output_directory()
    {
        Assert.True(small.Run.ExitCode == 0, small.Run.Output);
        Assert.EndsWith($"Output: {small.Run.Directory}", small.Run.Output.TrimEnd());
    }

    [Fact]
    public void A_deep_plain_net_ends_with_a_clearly_higher_training_loss_than_a_shallow_one()
    {
        var shallow = small.FinalTrainLoss($"plain-{QuickDepthRun.Shallow}");
        var deep = small.FinalTrainLoss($"plain-{QuickDepthRun.Deep}");

        Assert.True(deep > shallow * 1.1, $"plain-{QuickDepthRun.Deep} {deep:0.0000} vs plain-{QuickDepthRun.Shallow} {shallow:0.0000}");
    }

    [Fact]
    public void A_deep_resnet_trains_no_worse_than_a_shallow_one_within_the_tolerance()
    {
        var shallow = small.FinalTrainLoss($"resnet-{QuickDepthRun.Shallow}");
        var deep = small.FinalTrainLoss($"resnet-{QuickDepthRun.Deep}");

        Assert.True(deep <= shallow * (1 + DepthExperiment.ResNetTolerance), $"resnet-{QuickDepthRun.Deep} {deep:0.0000} vs resnet-{QuickDepthRun.Shallow} {shallow:0.0000}");
        Assert.True(deep < small.FinalTrainLoss($"plain-{QuickDepthRun.Deep}"), "the deep resnet should beat the deep plain net");
    }

    [Fact]
    public void The_command_prints_every_claim_with_its_rule_and_every_claim_agrees()
    {
        Assert.Contains("[agrees] Degradation:", small.Run.Output);
        Assert.Contains("[agrees] No degradation with shortcuts:", small.Run.Output);
        Assert.Contains("[agrees] Not vanishing gradients:", small.Run.Output);
        Assert.Contains("(by more than 5 % (seed-to-seed spread))", small.Run.Output);
        Assert.DoesNotContain("[DISAGREES]", small.Run.Output);
    }

    [Fact]
    public void Every_model_has_a_row_per_epoch_and_a_gradient_norm_per_layer_at_initialisation_and_after_every_epoch()
    {
        Assert.Equal(Models.SelectMany(m => Enumerable.Range(1, QuickDepthRun.Epochs).Select(e => (m, e))),
            small.EpochRows.Select(r => (r["model"], int.Parse(r["epoch"], CultureInfo.InvariantCulture))));
        Assert.All(small.EpochRows, r => Assert.InRange(double.Parse(r["test_accuracy"], CultureInfo.InvariantCulture), 0.0, 1.0));

        var gradients = small.Run.ReadCsv(DepthReport.GradientsCsv);
        foreach (var model in Models)
        {
            var depth = int.Parse(model.Split('-')[1], CultureInfo.InvariantCulture);
            for (var epoch = 0; epoch <= QuickDepthRun.Epochs; epoch++)
            {
                var layers = gradients.Where(g => g["model"] == model && g["epoch"] == epoch.ToString(CultureInfo.InvariantCulture)).ToList();
                // 6n+2 weighted layers: the stem, 6n convolutions and the classifier.
                Assert.Equal(depth, layers.Count);
                Assert.Equal("conv1.weight", layers[0]["parameter"]);
                Assert.Equal("fc.weight", layers[^1]["parameter"]);
                Assert.All(layers, l => Assert.True(double.Parse(l["weight_gradient_norm"], CultureInfo.InvariantCulture) is > 0 and < 1e6, $"{model} epoch {epoch} {l["parameter"]}"));
            }
        }
        var steps = small.Run.ReadCsv(DepthReport.StepsCsv);
        Assert.Equal(Models.Length * QuickDepthRun.Epochs * (DepthOptions.Quick.TrainLimit / DepthOptions.Quick.BatchSize), steps.Count);
    }

    [Fact]
    public void The_markdown_report_has_the_tables_and_the_plots_are_pngs()
    {
        var markdown = File.ReadAllText(small.Run.PathOf(DepthReport.Markdown));
        Assert.Contains("## Expectations", markdown);
        Assert.Contains("| model | parameters | training loss |", markdown);
        Assert.Contains($"| plain-{QuickDepthRun.Deep} |", markdown);
        Assert.Contains("## Per-layer gradient norms", markdown);
        Assert.DoesNotContain("NaN", markdown);
        foreach (var png in new[] { DepthReport.TrainingLossPng, DepthReport.TestAccuracyPng, DepthReport.InitialGradientsPng, DepthReport.FinalGradientsPng })
        {
            var bytes = File.ReadAllBytes(small.Run.PathOf(png));
            Assert.True(bytes.Length > 10_000, $"{png} is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
    }
}

public class DepthExperimentDeterminismTests
{
    /// <summary>
    /// Two runs with the same seed and worker count produce the same numbers, bit for bit: the order of the data,
    /// the augmentation, the shards and the summation are all functions of the seed, not of timing.
    /// </summary>
    [Fact]
    public async Task The_same_seed_reproduces_every_loss_and_gradient_norm_and_another_seed_does_not()
    {
        var options = DepthOptions.Quick with { Depths = [8], Families = ["plain"], Epochs = 1, TrainLimit = 256, TestLimit = 100, ProbeBatch = 32, Workers = 2 };

        var first = await DepthExperiment.RunAsync(options, TextWriter.Null, CancellationToken.None);
        var second = await DepthExperiment.RunAsync(options, TextWriter.Null, CancellationToken.None);
        var other = await DepthExperiment.RunAsync(options with { Seed = 2 }, TextWriter.Null, CancellationToken.None);

        Assert.Equal(Fingerprint(first), Fingerprint(second));
        Assert.NotEqual(Fingerprint(first), Fingerprint(other));
        // The probe at the end of the epoch sees the trained weights, not the initial ones.
        Assert.NotEqual(first.Runs[0].Gradients[0].Norms, first.Runs[0].Gradients[1].Norms);
    }

    private static string Fingerprint(DepthResults results) => string.Join(";", results.Runs.SelectMany(r =>
        r.Steps.Select(s => ReportWriting.Number(s.Loss))
            .Concat(r.Epochs.Select(e => $"{ReportWriting.Number(e.TrainLoss)}/{ReportWriting.Number(e.TestAccuracy)}"))
            .Concat(r.Gradients.SelectMany(g => g.Norms.Select(n => ReportWriting.Number(n.Norm))))));
}
