using System.Text;
using ScottPlot;
using static Distributed.Experiments.ReportWriting;

namespace Distributed.Experiments;

/// <summary>The ensemble-correlation part of the shattered report: its CSVs, its markdown section and its figure.</summary>
public static class EnsembleReport
{
    // Log plots need a floor: correlations within noise of zero can be negative.
    private const double LogFloor = 1e-3;

    public static void WriteCsvs(ShatteredResults results, string pointsPath, string fitsPath)
    {
        WriteCsv(pointsPath, ["variant", "depth", "distance", "seeds", "pairs", "ensemble_correlation", "ensemble_correlation_stderr"],
            results.Ensemble.Select(e => (IEnumerable<string>)
                [e.Variant, e.Depth.ToString(), Number(e.Distance), e.Seeds.ToString(), e.Pairs.ToString(), Number(e.Correlation), Number(e.StdErr)]));
        WriteCsv(fitsPath,
            ["variant", "distance", "law", "exponential_base", "exponential_r2", "power_exponent", "power_exponent_stderr", "power_r2", "onset_exponent", "onset_r2", .. VerdictColumns],
            results.EnsembleFits.Select(f => (IEnumerable<string>)
            [
                f.Variant.Name, Number(f.Distance), f.Law?.Text ?? "", Number(f.Base), Number(f.Exponential?.RSquared ?? double.NaN),
                Number(f.Exponent), Number(f.PowerLaw?.SlopeStdErr ?? double.NaN), Number(f.PowerLaw?.RSquared ?? double.NaN),
                Number(f.OnsetExponent), Number(f.PowerLawWithOnset?.RSquared ?? double.NaN), .. VerdictCells(f.Verdict),
            ]));
    }

    public static void AppendMarkdown(StringBuilder md, ShatteredResults results)
    {
        if (results.EnsembleFits.Count == 0) return;
        var o = results.Options;
        md.AppendLine("## The theorems' quantity: correlation across initialisations");
        md.AppendLine();
        md.AppendLine($"R(x, x') = E[∇ₓ∇ₓ'] / √(E[∇ₓ²] E[∇ₓ'²]) over {o.EnsembleSeeds} random initialisations, for two inputs |Δx| apart, " +
                      "averaged over every such pair on the grid; ± is the jackknife standard error over 8 groups of seeds. " +
                      "The theorems assume every unit is a fair coin per input; batch norm makes that hold, so only batch-normed " +
                      "variants are measured. By the covariance recursion a layer whose branch has backward gain g multiplies " +
                      "the gradient's variance by 1 + g and its covariance by 1 + g/2: a plain net is all branch (2^-L); a " +
                      "batch-normed resnet's branch gain is β²/(1 + β²l), because batch norm feeds every branch unit variance " +
                      "while the stream's variance grows by β² per block, so R ≈ (1 + β²L)^-1/2, Theorem 3's L^-1/2 once β²L ≫ 1; " +
                      "rescaling the stream by 1/√(1 + β²) holds the gain at β²/(1 + β²) and turns the power law into an exponential.");
        md.AppendLine();
        var depths = o.Depths.Distinct().Order().ToList();
        md.AppendLine($"| variant | distance | {string.Join(" | ", depths.Select(d => $"L={d}"))} | b (R²) | p (R²) | p vs 1 + β²L (R²) | verdict |");
        md.AppendLine($"|---|---|{string.Concat(depths.Select(_ => "---|"))}---|---|---|---|");
        foreach (var f in results.EnsembleFits)
        {
            var cells = depths.Select(d => results.Ensemble.FirstOrDefault(e => e.Variant == f.Variant.Name && e.Depth == d && Math.Abs(e.Distance - f.Distance) < 1e-9) is { } e
                ? $"{Fixed(e.Correlation)} ± {Fixed(e.StdErr)}" : "–");
            md.AppendLine($"| {f.Variant.Name} | {Fixed(f.Distance, 2)} | {string.Join(" | ", cells)} | {Fixed(f.Base)} ({Fixed(f.Exponential?.RSquared ?? double.NaN, 2)}) | " +
                          $"{Fixed(f.Exponent)} ({Fixed(f.PowerLaw?.RSquared ?? double.NaN, 2)}) | {Fixed(f.OnsetExponent)} ({Fixed(f.PowerLawWithOnset?.RSquared ?? double.NaN, 2)}) | " +
                          $"{(f.Verdict.Outcome == Agreement.Disagrees ? "**disagrees**" : f.Verdict.Label)} |");
        }
        md.AppendLine();
        AppendVerdicts(md, results.EnsembleFits.Select(f => f.Verdict));
        md.AppendLine();
    }

    public static void Draw(ShatteredResults results, string path)
    {
        var plot = new Plot();
        var index = 0;
        foreach (var f in results.EnsembleFits)
        {
            var points = results.Ensemble.Where(e => e.Variant == f.Variant.Name && Math.Abs(e.Distance - f.Distance) < 1e-9).OrderBy(e => e.Depth).ToList();
            var line = plot.Add.Scatter(points.Select(e => Math.Log10(e.Depth)).ToArray(), Log10Clipped(points.Select(e => e.Correlation), LogFloor), PaletteColor(index++));
            line.LegendText = $"{f.Variant.Name}, |Δx| = {f.Distance:0.00}";
            line.MarkerSize = 6;
        }
        if (results.Ensemble.Count > 0)
        {
            var maxDepth = results.Ensemble.Max(e => e.Depth);
            var fine = Enumerable.Range(0, 100).Select(i => Math.Pow(maxDepth, i / 99.0)).ToArray();
            var root = plot.Add.ScatterLine(fine.Select(Math.Log10).ToArray(), Log10Clipped(fine.Select(l => 1 / Math.Sqrt(l)), LogFloor), Colors.Gray);
            root.LinePattern = LinePattern.Dotted;
            root.LegendText = "L^-1/2";
            var half = plot.Add.ScatterLine(fine.Select(Math.Log10).ToArray(), Log10Clipped(fine.Select(l => Math.Pow(2, -l)), LogFloor), Colors.Black);
            half.LinePattern = LinePattern.Dashed;
            half.LegendText = "2^-L";
        }
        UseLogScaleY(plot);
        plot.Axes.SetLimitsY(Math.Log10(LogFloor) - 0.1, 0.1);
        plot.Title("Correlation of gradients at two inputs across initialisations (log-log)");
        plot.XLabel("log10 depth L");
        plot.YLabel("R (log scale)");
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(path, 1000, 650);
    }
}
