using System.Globalization;
using Distributed.Experiments;

namespace Distributed.Tests.Experiments;

/// <summary>One quick run of <c>experiment shattered</c>, shared by the tests that read its outputs.</summary>
public sealed class QuickShatteredRun : IDisposable
{
    public ExperimentRun Run { get; } = new("experiment", "shattered", "--quick");
    public List<Dictionary<string, string>> Rows { get; }

    public QuickShatteredRun() => Rows = Run.ExitCode == 0 ? Run.ReadCsv(ShatteredReport.ResultsCsv) : [];

    public double Value(string variant, int depth, string column) =>
        double.Parse(Rows.Single(r => r["variant"] == variant && r["depth"] == depth.ToString(CultureInfo.InvariantCulture))[column], CultureInfo.InvariantCulture);

    public double R(string variant, int depth) => Value(variant, depth, "neighbour_correlation");

    public void Dispose() => Run.Dispose();
}

public class ShatteredExperimentTests(QuickShatteredRun quick) : IClassFixture<QuickShatteredRun>
{
    [Fact]
    public void Quick_run_succeeds_and_ends_by_printing_its_output_directory()
    {
        Assert.True(quick.Run.ExitCode == 0, quick.Run.Output);
        Assert.EndsWith($"Output: {quick.Run.Directory}", quick.Run.Output.TrimEnd());
    }

    [Fact]
    public void Quick_run_writes_a_csv_row_for_every_variant_and_depth_with_every_lag()
    {
        var q = ShatteredOptions.Quick;
        Assert.Equal(q.Variants.Count * q.Depths.Count, quick.Rows.Count);
        Assert.All(quick.Rows, row =>
        {
            Assert.True(row.ContainsKey($"acf_lag{q.MaxLag}") && row.ContainsKey($"uncentered_acf_lag{q.MaxLag}"));
            Assert.All(row.Where(c => c.Key.Contains("acf") || c.Key.Contains("correlation")),
                c => Assert.True(double.TryParse(c.Value, CultureInfo.InvariantCulture, out _), $"{c.Key} = {c.Value}"));
        });
        var fits = quick.Run.ReadCsv(ShatteredReport.FitsCsv);
        Assert.Equal(q.Variants, fits.Select(f => f["variant"]));
        Assert.Equal(ShatteredOptions.Quick.Points + 1, File.ReadAllLines(quick.Run.PathOf(ShatteredReport.TracesCsv)).Length);
    }

    [Fact]
    public void Quick_run_writes_a_markdown_report_with_the_table_the_claims_and_the_udlbook_finding()
    {
        var markdown = File.ReadAllText(quick.Run.PathOf(ShatteredReport.Markdown));

        Assert.Contains("## Measured vs expected", markdown);
        Assert.Contains("| plain-bn | 2^-L |", markdown);
        Assert.Contains("## Claims", markdown);
        Assert.Contains("## Why the udlbook reproduction", markdown);
        Assert.DoesNotContain("NaN", markdown);
    }

    [Theory]
    [InlineData(ShatteredReport.FigureOnePng)]
    [InlineData(ShatteredReport.CorrelationPng)]
    [InlineData(ShatteredReport.CoActivationPng)]
    [InlineData(ShatteredReport.AutocorrelationPng)]
    public void Quick_run_draws_each_figure_as_a_png(string file)
    {
        var bytes = File.ReadAllBytes(quick.Run.PathOf(file));

        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.True(bytes.Length > 10_000, $"{file} is only {bytes.Length} bytes");
    }

    private static readonly int Deep = ShatteredOptions.Quick.Depths.Max();

    [Fact]
    public void A_deep_plain_net_has_shattered_gradients_while_a_shallow_one_does_not()
    {
        Assert.True(quick.R("plain-bn", 1) > 0.9, $"R at L=1: {quick.R("plain-bn", 1)}");
        Assert.True(quick.R("plain-bn", Deep) < 0.15, $"R at L={Deep}: {quick.R("plain-bn", Deep)}");
    }

    [Fact]
    public void A_resnet_with_batch_norm_and_a_small_beta_keeps_its_gradients_correlated_at_the_deepest_depth()
    {
        Assert.True(quick.R("resnet-bn-beta0.1", Deep) > 0.8, $"R at L={Deep}: {quick.R("resnet-bn-beta0.1", Deep)}");
    }

    [Fact]
    public void Plain_net_correlation_decays_faster_than_the_resnets()
    {
        foreach (var depth in new[] { 12, Deep })
            Assert.True(quick.R("plain-bn", depth) < quick.R("resnet-bn", depth) - 0.3,
                $"L={depth}: plain {quick.R("plain-bn", depth)}, resnet {quick.R("resnet-bn", depth)}");
    }

    [Fact]
    public void A_smaller_residual_scale_decays_more_slowly()
    {
        Assert.True(quick.R("resnet-bn-beta0.1", Deep) > quick.R("resnet-bn", Deep));
    }

    [Fact]
    public void Batch_norm_holds_co_activation_near_a_quarter_and_without_it_co_activation_drifts_toward_a_half()
    {
        foreach (var row in quick.Rows.Where(r => r["batch_norm"] == "true"))
            Assert.InRange(double.Parse(row["co_activation"], CultureInfo.InvariantCulture), 0.23, 0.27);
        foreach (var variant in new[] { "plain-he", "plain-he-bias", "plain-udlbook", "resnet-bias" })
            Assert.True(quick.Value(variant, Deep, "co_activation_deepest") > 0.38, variant);
    }

    [Fact]
    public void The_udlbook_initialisation_stays_smooth_without_batch_norm_and_shatters_with_it()
    {
        Assert.True(quick.R("plain-udlbook", Deep) > 0.9, $"without batch norm: {quick.R("plain-udlbook", Deep)}");
        Assert.True(quick.R("plain-udlbook-bn", Deep) < 0.15, $"with batch norm: {quick.R("plain-udlbook-bn", Deep)}");
        // And its gradient vanishes like 2^-L/2: L − 1 more layers cost a factor of about 2^((L − 1)/2), within 10× either way.
        var shrink = quick.Value("plain-udlbook", 1, "gradient_rms") / quick.Value("plain-udlbook", Deep, "gradient_rms");
        var expected = Math.Pow(2, (Deep - 1) / 2.0);
        Assert.InRange(shrink, expected / 10, expected * 10);
    }

    [Fact]
    public void The_resnets_neighbour_decay_is_reported_as_disagreeing_with_L_to_the_minus_half_and_says_what_it_is_instead()
    {
        // The claim the old table marked as agreeing while its own fit said L^-0.08.
        foreach (var variant in new[] { "resnet-bn", "resnet-bn-beta0.5", "resnet-bn-beta0.1" })
        {
            var line = Line($"{variant}: neighbour R decays as Theorem 3's L^-1/2");
            Assert.StartsWith("[DISAGREES]", line);
            Assert.Contains("Measurement suggests: a slower power law", line);
        }
    }

    [Fact]
    public void The_claims_that_hold_are_reported_as_agreeing_and_every_verdict_states_its_rule()
    {
        Assert.StartsWith("[agrees]", Line("A deep plain net's gradients are shattered"));
        Assert.StartsWith("[agrees]", Line("A resnet with batch norm keeps its gradients correlated"));
        Assert.StartsWith("[agrees]", Line("A smaller residual scale β decays more slowly"));
        Assert.StartsWith("[agrees]", Line("plain-bn: R collapses to noise"));
        var verdicts = quick.Run.Output.Split('\n').Where(l => l.StartsWith("[agrees]") || l.StartsWith("[DISAGREES]") || l.StartsWith("[inconclusive]")).ToList();
        Assert.True(verdicts.Count >= 15, quick.Run.Output);
        Assert.All(verdicts, l => Assert.Matches(@": measured .*, expected .* \(.+\)", l));
    }

    [Fact]
    public void The_ensemble_correlation_is_measured_for_every_ensemble_variant_and_depth_and_written_with_its_fits()
    {
        var q = ShatteredOptions.Quick;
        var rows = quick.Run.ReadCsv(ShatteredReport.EnsembleCsv);
        Assert.Equal(q.EnsembleVariants.Count * q.Depths.Count * q.EnsembleDistances.Count, rows.Count);
        Assert.All(rows, r => Assert.InRange(double.Parse(r["ensemble_correlation"], CultureInfo.InvariantCulture), -1, 1));
        Assert.Equal(q.EnsembleVariants, quick.Run.ReadCsv(ShatteredReport.EnsembleFitsCsv).Select(f => f["variant"]));
        Assert.Contains("## The theorems' quantity: correlation across initialisations", File.ReadAllText(quick.Run.PathOf(ShatteredReport.Markdown)));
    }

    [Fact]
    public void Across_initialisations_a_plain_nets_gradients_decorrelate_and_a_resnets_stay_correlated_longer()
    {
        double Ensemble(string variant, int depth) => double.Parse(quick.Run.ReadCsv(ShatteredReport.EnsembleCsv)
            .Single(r => r["variant"] == variant && r["depth"] == depth.ToString(CultureInfo.InvariantCulture))["ensemble_correlation"], CultureInfo.InvariantCulture);

        Assert.True(Ensemble("plain-bn", 4) < 0.5 * Ensemble("resnet-bn", 4), $"L=4: plain {Ensemble("plain-bn", 4)}, resnet {Ensemble("resnet-bn", 4)}");
        Assert.True(Ensemble("plain-bn", 12) < 0.1, $"plain at L=12: {Ensemble("plain-bn", 12)}");
    }

    private string Line(string claim) =>
        quick.Run.Output.Split('\n').SingleOrDefault(l => l.Contains("] " + claim)) ?? throw new Xunit.Sdk.XunitException($"no verdict for '{claim}' in:\n{quick.Run.Output}");
}

public class ShatteredDeterminismTests
{
    private static readonly ShatteredOptions Tiny = ShatteredOptions.Quick with
    {
        Depths = [1, 6], Seeds = 2, Width = 32, Points = 64, MaxLag = 4, Variants = ["plain-bn", "resnet-bn"],
    };

    private static double[] Numbers(ShatteredResults results) =>
        results.Points.SelectMany(p => new[] { p.NeighbourCorrelation, p.CoActivation, p.GradientRms }.Concat(p.CenteredAcf)).ToArray();

    [Fact]
    public void The_same_seed_reproduces_every_number_and_another_seed_does_not()
    {
        var first = Numbers(ShatteredExperiment.Run(Tiny, TextWriter.Null));
        var again = Numbers(ShatteredExperiment.Run(Tiny, TextWriter.Null));
        var other = Numbers(ShatteredExperiment.Run(Tiny with { Seed = 2 }, TextWriter.Null));

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void A_variant_measures_the_same_whether_or_not_other_variants_run_before_it()
    {
        var alone = ShatteredExperiment.Run(Tiny with { Variants = ["resnet-bn"] }, TextWriter.Null);
        var after = ShatteredExperiment.Run(Tiny, TextWriter.Null);

        Assert.Equal(alone.Find("resnet-bn", 6)!.NeighbourCorrelation, after.Find("resnet-bn", 6)!.NeighbourCorrelation);
    }
}
