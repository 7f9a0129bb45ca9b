using System.Globalization;
using System.Text;
using ScottPlot;

namespace Distributed.Experiments;

/// <summary>CSV, number formatting and ScottPlot conventions shared by the experiment reports.</summary>
public static class ReportWriting
{
    /// <summary>Round-trippable, culture-free number for a CSV cell; NaN stays "NaN".</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Short fixed-point number for a markdown table.</summary>
    public static string Fixed(double value, int decimals = 3) =>
        double.IsNaN(value) ? "–" : value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    /// <summary>Three significant digits in scientific notation, for values spanning many decades.</summary>
    public static string Scientific(double value) =>
        double.IsNaN(value) ? "–" : value.ToString("0.00e0", CultureInfo.InvariantCulture);

    public static string CsvField(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";

    public static void WriteCsv(string path, IEnumerable<string> header, IEnumerable<IEnumerable<string>> rows)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", header.Select(CsvField)));
        foreach (var row in rows) text.AppendLine(string.Join(",", row.Select(CsvField)));
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>
    /// ScottPlot 5 has no logarithmic axis: plot log10(y) and label the ticks as powers of ten, with minor ticks
    /// spaced logarithmically, as its cookbook does.
    /// </summary>
    public static void UseLogScaleY(Plot plot)
    {
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("0.###E+0", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>log10 of each value, with values at or below <paramref name="floor"/> drawn at the floor.</summary>
    public static double[] Log10Clipped(IEnumerable<double> values, double floor) =>
        values.Select(v => Math.Log10(Math.Max(v, floor))).ToArray();

    public static Color PaletteColor(int index) => new ScottPlot.Palettes.Category10().GetColor(index);

    /// <summary>
    /// The verdict table every report ends its findings with: claim, measured, expected, the rule that decides, and
    /// the outcome, with what the measurement suggests instead where it disagrees.
    /// </summary>
    public static void AppendVerdicts(StringBuilder md, IEnumerable<Verdict> verdicts)
    {
        md.AppendLine("| claim | measured | expected | rule | verdict |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var v in verdicts)
        {
            var outcome = v.Outcome switch
            {
                Agreement.Agrees => "agrees",
                Agreement.Disagrees => "**disagrees**" + (v.Suggestion is null ? "" : $": {v.Suggestion}"),
                _ => "inconclusive",
            };
            var measured = v.Evidence.Length > 0 ? $"{v.Measured} ({v.Evidence})" : v.Measured;
            md.AppendLine($"| {Cell(v.Claim)} | {Cell(measured)} | {Cell(v.Expected)} | {Cell(v.Rule)} | {Cell(outcome)} |");
        }
    }

    /// <summary>CSV columns of a verdict, for the reports' fits and claims files.</summary>
    public static readonly string[] VerdictColumns = ["claim", "measured", "expected", "rule", "verdict", "evidence", "suggestion"];

    public static IEnumerable<string> VerdictCells(Verdict v) =>
        [v.Claim, v.Measured, v.Expected, v.Rule, v.Outcome.ToString().ToLowerInvariant(), v.Evidence, v.Suggestion ?? ""];

    private static string Cell(string text) => text.Replace("|", "\\|").Replace("\n", " ");
}
