using static Distributed.Experiments.Verdict;

namespace Distributed.Experiments;

/// <summary>
/// Every verdict of <c>experiment shattered</c>: the fits of each variant's neighbour correlation, the fits of the
/// ensemble correlation against the paper's laws, and the claims. Each is decided by one <see cref="VerdictRule"/>
/// whose tolerance is written into the verdict.
/// </summary>
public static class ShatteredVerdicts
{
    /// <summary>How far a fitted base or exponent may lie from theory's and still agree.</summary>
    public const double Tolerance = 0.2;

    /// <summary>Uncertainties enter the rules as two standard errors (about a 95 % interval).</summary>
    public const double Sigmas = 2;

    private const string FitRule = "within 20 %, widened by 2 standard errors of the fit";

    /// <summary>
    /// The ensemble fits start where R has fallen below this: above it the two inputs still share most of their
    /// activation patterns (the first layers cannot yet tell them apart), and the theorems' laws describe what
    /// happens once they do not, as for the neighbour correlation's tail.
    /// </summary>
    public const double OnsetCeiling = 0.9;

    public static ShatteredFit FitNeighbours(ShatteredVariant variant, IReadOnlyList<ShatteredPoint> points)
    {
        var depths = points.Select(p => (double)p.Depth).ToList();
        var values = points.Select(p => p.NeighbourCorrelation).ToList();
        var floors = points.Select(ShatteredExperiment.NoiseFloor).ToList();
        var exponential = DecayFit.Exponential(depths, values, floors);
        var powerLaw = DecayFit.PowerLaw(depths, values, floors);
        var first = points[0];
        var last = points[^1];
        var lastSpread = Spread(last.NeighbourCorrelationStdErr);

        var verdict = variant.Expected switch
        {
            // Neighbouring grid points start out sharing almost every activation pattern, so R stays near 1 for a
            // few layers and then falls; 2^-L describes the tail, where each layer's neighbour factor c/a is 1/2.
            // The c/a part is Theorem 1's mechanism for plain layers; for other architectures only the collapse is claimed.
            ExpectedDecay.Shatters => variant.Architecture == Architecture.Plain
                ? new Verdict(
                    $"{variant.Name}: R collapses to noise ({variant.PaperFormula}), the deepest layer's neighbour factor c/a at 1/2",
                    Format($"R(L={last.Depth}) = {last.NeighbourCorrelation:0.000} ± {last.NeighbourCorrelationStdErr:0.000}, deepest layer's c/a = {last.DeepestNeighbourFactor:0.000}"),
                    "|R| < 0.1, c/a = 0.5",
                    "|R| below 0.1 (noise level); c/a within 20 % of 1/2",
                    VerdictRule.All(VerdictRule.Between(last.NeighbourCorrelation, -0.1, 0.1), VerdictRule.WithinRelative(last.DeepestNeighbourFactor, 0.5, Tolerance)),
                    Format($"R = {first.NeighbourCorrelation:0.000} at L={first.Depth}"),
                    Format($"c/a = {last.DeepestNeighbourFactor:0.000}: neighbouring inputs still share activation patterns at L={last.Depth}"))
                : new Verdict(
                    $"{variant.Name}: R collapses to noise",
                    Format($"R(L={last.Depth}) = {last.NeighbourCorrelation:0.000} ± {last.NeighbourCorrelationStdErr:0.000}"),
                    "|R| < 0.1", "|R| below 0.1 (noise level)",
                    VerdictRule.Between(last.NeighbourCorrelation, -0.1, 0.1),
                    Format($"R = {first.NeighbourCorrelation:0.000} at L={first.Depth}; deepest layer's c/a = {last.DeepestNeighbourFactor:0.000}"),
                    "neighbouring gradients stay correlated"),
            ExpectedDecay.Sublinear => NeighbourPowerLaw(variant, powerLaw, last),
            _ => new Verdict(
                $"{variant.Name}: R stays correlated (the theorems' fair-coin assumption fails here)",
                Format($"R(L={last.Depth}) = {last.NeighbourCorrelation:0.000} ± {last.NeighbourCorrelationStdErr:0.000}"),
                "R ≥ 0.5",
                "R above 0.5 by 2 standard errors",
                VerdictRule.Above(last.NeighbourCorrelation, 0.5, lastSpread),
                Format($"co-activation of the deepest layer {last.CoActivationDeepest:0.000}, {last.DeadOrLinearFraction * 100:0}% of its units never switch"),
                "it shatters after all: its units switch like fair coins"),
        };
        return new ShatteredFit(variant, exponential, powerLaw, verdict);
    }

    private static Verdict NeighbourPowerLaw(ShatteredVariant variant, LineFit? fit, ShatteredPoint last)
    {
        var claim = $"{variant.Name}: neighbour R decays as Theorem 3's L^-1/2";
        if (fit is null)
            return new Verdict(claim, "no fit", "exponent −0.5", FitRule, Agreement.Inconclusive, "fewer than two depths above the noise floor");
        var spread = Spread(fit.SlopeStdErr);
        return new Verdict(claim,
            Format($"R ∝ L^{fit.Slope:0.000} ± {spread:0.000} (R² {fit.RSquared:0.00}, {fit.Points} depths)"),
            "exponent −0.5", FitRule,
            VerdictRule.WithinRelative(fit.Slope, -0.5, Tolerance, spread),
            Format($"R(L={last.Depth}) = {last.NeighbourCorrelation:0.000}"),
            Format($"a {(fit.Slope > -0.5 ? "slower" : "faster")} power law, L^{fit.Slope:0.00}: neighbouring inputs share their activation patterns, ") +
            "so they are not the independent fair coins Theorem 3 assumes; the ensemble correlation at inputs further apart is the theorem's quantity");
    }

    /// <summary>
    /// The fit of one variant's ensemble correlation over depth at one distance against its <see cref="EnsembleLaw"/>:
    /// the base of an exponential, or the exponent of a power law; for power laws also the exponent in 1 + β²L, which
    /// is the same law with Theorem 3's onset accounted for.
    /// </summary>
    public static EnsembleFit FitEnsemble(ShatteredVariant variant, IReadOnlyList<EnsemblePoint> series)
    {
        var law = variant.EnsembleExpectation;
        var distance = series[0].Distance;
        var fitted = series.Where(p => p.Correlation < OnsetCeiling).ToList();
        var depths = fitted.Select(p => (double)p.Depth).ToList();
        var values = fitted.Select(p => p.Correlation).ToList();
        var floors = fitted.Select(p => NoiseFloor(p.StdErr)).ToList();
        var exponential = DecayFit.Exponential(depths, values, floors);
        var powerLaw = DecayFit.PowerLaw(depths, values, floors);
        var onset = DecayFit.PowerLawWithOnset(depths, values, floors, variant.Beta * variant.Beta);
        var where = Format($"|Δx| = {distance:0.00}");
        var trend = string.Join(", ", series.Select(p => Format($"L={p.Depth}: {p.Correlation:0.000}")));

        Verdict verdict;
        if (law is null)
        {
            verdict = new Verdict($"{variant.Name}, ensemble R at {where}", "–", "no prediction", "none", Agreement.Inconclusive, trend);
        }
        else if (law.Shape == DecayShape.Exponential)
        {
            var claim = $"{variant.Name}: ensemble R at {where} decays as {law.Text}";
            if (exponential is null)
            {
                verdict = new Verdict(claim, "no fit", Format($"base {law.Value:0.000}"), FitRule, Agreement.Inconclusive, "fewer than two depths above the noise floor; " + trend);
            }
            else
            {
                var b = Math.Exp(exponential.Slope);
                var spread = b * Spread(exponential.SlopeStdErr);
                var p = powerLaw?.Slope ?? double.NaN;
                verdict = new Verdict(claim,
                    Format($"R ≈ A·{b:0.000}^L ± {spread:0.000} (R² {exponential.RSquared:0.00}, {exponential.Points} depths)"),
                    Format($"base {law.Value:0.000}"), FitRule,
                    VerdictRule.WithinRelative(b, law.Value, Tolerance, spread),
                    trend,
                    Format($"×{b:0.000} per layer; as a power law R ∝ L^{p:0.00} (R² {powerLaw?.RSquared ?? double.NaN:0.00})"));
            }
        }
        else
        {
            var claim = $"{variant.Name}: ensemble R at {where} decays as {law.Text}";
            if (powerLaw is null || onset is null)
            {
                verdict = new Verdict(claim, "no fit", "exponent −0.5", FitRule, Agreement.Inconclusive, "fewer than two depths above the noise floor; " + trend);
            }
            else
            {
                var spread = Spread(powerLaw.SlopeStdErr);
                verdict = new Verdict(claim,
                    Format($"R ∝ L^{powerLaw.Slope:0.000} ± {spread:0.000} (R² {powerLaw.RSquared:0.00}, {powerLaw.Points} depths)"),
                    "exponent −0.5", FitRule,
                    VerdictRule.WithinRelative(powerLaw.Slope, law.Value, Tolerance, spread),
                    Format($"{trend}; against 1 + β²L (β = {variant.Beta:0.##}): exponent {onset.Slope:0.000} ± {Spread(onset.SlopeStdErr):0.000} (R² {onset.RSquared:0.00})"),
                    Format($"R ∝ L^{powerLaw.Slope:0.00} over these depths; against 1 + β²L the exponent is {onset.Slope:0.00}") +
                    (VerdictRule.WithinRelative(onset.Slope, law.Value, Tolerance, Spread(onset.SlopeStdErr)) == Agreement.Agrees
                        ? Format($", Theorem 3's −1/2 once its onset at β²L ≈ 1 is counted: the branch's backward gain β²/(1 + β²l) sets both")
                        : ""));
            }
        }
        return new EnsembleFit(variant, distance, exponential, powerLaw, onset, law, verdict);
    }

    /// <summary>Three standard errors above zero and never below 10^-3, as for the neighbour correlation.</summary>
    public static double NoiseFloor(double stdErr) => Math.Max(1e-3, double.IsNaN(stdErr) ? 0 : 3 * stdErr);

    /// <summary>The uncertainty a rule is given: two standard errors; none when the standard error is unknown.</summary>
    private static double Spread(double stdErr) => double.IsNaN(stdErr) ? double.NaN : Sigmas * stdErr;
}
