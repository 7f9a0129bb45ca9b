using System.Globalization;
using Distributed.Experiments;

namespace Distributed.Tests.Experiments;

public sealed class QuickVanishingRun : IDisposable
{
    public ExperimentRun Run { get; } = new("experiment", "vanishing", "--quick");

    public double Summary(string variant, int depth, string column) =>
        double.Parse(Run.ReadCsv(VanishingReport.SummaryCsv)
            .Single(r => r["variant"] == variant && r["depth"] == depth.ToString(CultureInfo.InvariantCulture))[column], CultureInfo.InvariantCulture);

    public void Dispose() => Run.Dispose();
}

public class VanishingExperimentTests(QuickVanishingRun quick) : IClassFixture<QuickVanishingRun>
{
    [Fact]
    public void A_10_layer_sigmoid_net_gives_its_first_layer_a_tiny_fraction_of_the_last_layers_gradient()
    {
        // (1/4)^10 ≈ 10^-6: each sigmoid derivative is at most 1/4.
        Assert.True(quick.Summary("sigmoid-plain", 10, "first_to_last_ratio") < 1e-4);
        Assert.InRange(quick.Summary("sigmoid-plain", 10, "per_layer_factor"), 0.15, 0.26);
    }

    [Fact]
    public void A_10_layer_relu_resnet_keeps_first_and_last_layer_gradients_within_an_order_of_magnitude()
    {
        Assert.InRange(quick.Summary("relu-resnet", 10, "first_to_last_ratio"), 0.1, 10);
        Assert.InRange(quick.Summary("relu-resnet", 10, "per_layer_factor"), 0.7, 1.4);
    }

    [Fact]
    public void The_identity_path_rescues_even_a_sigmoid_net()
    {
        Assert.True(quick.Summary("sigmoid-resnet", 10, "first_to_last_ratio") > 1e3 * quick.Summary("sigmoid-plain", 10, "first_to_last_ratio"));
    }

    [Fact]
    public void Quick_run_writes_every_layer_norm_a_summary_a_report_and_the_plots()
    {
        Assert.True(quick.Run.ExitCode == 0, quick.Run.Output);
        var q = VanishingOptions.Quick;
        var layers = quick.Run.ReadCsv(VanishingReport.LayersCsv);
        Assert.Equal(q.Variants.Count * q.Depths.Sum(d => d + 1), layers.Count);
        Assert.All(layers, row => Assert.True(double.Parse(row["weight_gradient_norm"], CultureInfo.InvariantCulture) > 0));
        Assert.Contains("## First-layer / last-layer gradient ratio", File.ReadAllText(quick.Run.PathOf(VanishingReport.Markdown)));
        foreach (var png in q.Depths.Select(VanishingReport.LayerNormsPng).Append(VanishingReport.RatioPng))
            Assert.Equal((byte)'P', File.ReadAllBytes(quick.Run.PathOf(png))[1]);
        Assert.Contains("[agrees] sigmoid-plain:", quick.Run.Output);
        Assert.DoesNotContain("[DISAGREES]", quick.Run.Output);
    }
}
