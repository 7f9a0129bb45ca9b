using static Distributed.Experiments.Verdict;

namespace Distributed.Experiments;

/// <summary>
/// The claims of <c>experiment shattered</c> beyond the per-variant fits: what the paper says about plain nets,
/// resnets and β, and what this reproduction says about the udlbook's. Each decided by a <see cref="VerdictRule"/>
/// with its tolerance stated; uncertainties are two standard errors over seeds.
/// </summary>
public static class ShatteredClaims
{
    public static IReadOnlyList<Verdict> Evaluate(ShatteredResults results)
    {
        var claims = new List<Verdict>();
        var depths = results.Options.Depths.Distinct().Order().ToList();
        var shallow = depths[0];
        var deep = depths[^1];
        ShatteredPoint? At(string variant, int depth) => results.Find(variant, depth);
        bool Has(params string[] variants) => variants.All(v => results.Options.Variants.Contains(v));
        static double Se(ShatteredPoint p) => double.IsNaN(p.NeighbourCorrelationStdErr) ? 0 : ShatteredVerdicts.Sigmas * p.NeighbourCorrelationStdErr;
        static double Both(ShatteredPoint a, ShatteredPoint b) => Math.Sqrt(Se(a) * Se(a) + Se(b) * Se(b));

        if (Has("plain-bn") && depths.Count > 1)
        {
            var (a, b) = (At("plain-bn", shallow)!, At("plain-bn", deep)!);
            claims.Add(new("A deep plain net's gradients are shattered (neighbouring gradients decorrelate)",
                Format($"plain-bn R = {a.NeighbourCorrelation:0.000} at L={shallow}, {b.NeighbourCorrelation:0.000} ± {b.NeighbourCorrelationStdErr:0.000} at L={deep}"),
                "≥ 0.9 shallow, |R| < 0.1 deep", "shallow bound cleared by 2 standard errors; deep |R| below 0.1 (noise level)",
                VerdictRule.All(VerdictRule.Above(a.NeighbourCorrelation, 0.9, Se(a)), VerdictRule.Between(b.NeighbourCorrelation, -0.1, 0.1))));
            claims.Add(new("In the shattered regime each layer halves the correlation (the 2^-L of Theorem 1)",
                Format($"plain-bn at L={deep}: deepest layer's neighbour co-activation / activation c/a = {b.DeepestNeighbourFactor:0.000}"),
                "1/2 (1 = unshattered)", "within 20 %",
                VerdictRule.WithinRelative(b.DeepestNeighbourFactor, 0.5, ShatteredVerdicts.Tolerance)));
        }
        if (Has("plain-bn", "resnet-bn"))
        {
            var (plain, res) = (At("plain-bn", deep)!, At("resnet-bn", deep)!);
            claims.Add(new("A resnet with batch norm keeps its gradients correlated at the same depth",
                Format($"L={deep}: resnet-bn R = {res.NeighbourCorrelation:0.000}, plain-bn R = {plain.NeighbourCorrelation:0.000}"),
                "resnet R ≥ 0.5 and ≥ plain R + 0.4", "each bound cleared by 2 standard errors",
                VerdictRule.All(VerdictRule.Above(res.NeighbourCorrelation, 0.5, Se(res)),
                    VerdictRule.Above(res.NeighbourCorrelation - plain.NeighbourCorrelation, 0.4, Both(res, plain)))));
            var compared = depths.Where(d => d >= 8).ToList();
            claims.Add(new("Plain nets decorrelate faster than resnets at every depth (from L = 8 on)",
                string.Join("; ", compared.Select(d => Format($"L={d}: {At("plain-bn", d)!.NeighbourCorrelation:0.000} vs {At("resnet-bn", d)!.NeighbourCorrelation:0.000}"))),
                "plain R < resnet R", "at every depth, by 2 standard errors",
                VerdictRule.All(compared.Select(d => VerdictRule.Below(At("plain-bn", d)!.NeighbourCorrelation, At("resnet-bn", d)!.NeighbourCorrelation, Both(At("plain-bn", d)!, At("resnet-bn", d)!))))));
        }
        if (Has("resnet-bn", "resnet-bn-beta0.1"))
        {
            var half = Has("resnet-bn-beta0.5") ? Format($", β=0.5: {At("resnet-bn-beta0.5", deep)!.NeighbourCorrelation:0.000}") : "";
            var (one, tenth) = (At("resnet-bn", deep)!, At("resnet-bn-beta0.1", deep)!);
            claims.Add(new("A smaller residual scale β decays more slowly",
                Format($"L={deep}: β=1: {one.NeighbourCorrelation:0.000}{half}, β=0.1: {tenth.NeighbourCorrelation:0.000}"),
                "R(β=0.1) > R(β=1)", "by 2 standard errors",
                VerdictRule.Above(tenth.NeighbourCorrelation - one.NeighbourCorrelation, 0, Both(one, tenth))));
        }
        var withNorm = results.Points.Where(p => ShatteredVariant.Find(p.Variant).BatchNorm).ToList();
        if (withNorm.Count > 0)
        {
            var worst = withNorm.MaxBy(p => Math.Abs(p.CoActivation - 0.25))!;
            claims.Add(new("With batch norm, the co-activation of ReLU units stays near 1/4",
                Format($"largest deviation: {worst.CoActivation:0.000} ({worst.Variant}, L={worst.Depth}) over {withNorm.Count} variant-depths"),
                "0.25", "within ±0.02 at every variant and depth",
                VerdictRule.WithinAbsolute(worst.CoActivation, 0.25, 0.02)));
        }
        var withoutNorm = results.Options.Variants.Where(v => !ShatteredVariant.Find(v).BatchNorm).ToList();
        if (withoutNorm.Count > 0 && deep >= 8)
        {
            var deepest = withoutNorm.Select(v => At(v, deep)!).ToList();
            claims.Add(new("Without batch norm, co-activation drifts toward 1/2, breaking the theorems' assumption",
                string.Join("; ", deepest.Select(p => Format($"{p.Variant}: {p.CoActivationDeepest:0.000}"))) + Format($" (deepest layer, L={deep})"),
                "≥ 0.35 (1/4 = fair coins, 1/2 = always on or off)", "every variant",
                VerdictRule.All(deepest.Select(p => VerdictRule.Above(p.CoActivationDeepest, 0.35)))));
        }
        if (Has("plain-bn", "plain-udlbook-bn"))
        {
            var gaps = depths.Select(d => (Depth: d, A: At("plain-bn", d)!, B: At("plain-udlbook-bn", d)!)).ToList();
            var largest = gaps.MaxBy(g => Math.Abs(g.A.NeighbourCorrelation - g.B.NeighbourCorrelation));
            claims.Add(new("With batch norm the udlbook initialisation shatters exactly like He's",
                Format($"largest gap in R: {Math.Abs(largest.A.NeighbourCorrelation - largest.B.NeighbourCorrelation):0.000} at L={largest.Depth}"),
                "gap 0", "within 0.05 at every depth, widened by 2 standard errors",
                VerdictRule.All(gaps.Select(g => VerdictRule.WithinAbsolute(g.A.NeighbourCorrelation - g.B.NeighbourCorrelation, 0, 0.05, Math.Min(0.05, Both(g.A, g.B)))))));
        }
        if (Has("plain-udlbook") && depths.Count > 1)
        {
            var points = depths.Select(d => At("plain-udlbook", d)!).ToList();
            var fit = DecayFit.Line(points.Select(p => (double)p.Depth).ToList(), points.Select(p => Math.Log(p.GradientRms)).ToList());
            var factor = fit is null ? double.NaN : Math.Exp(fit.Slope);
            claims.Add(new("The udlbook's net (no batch norm, variance 1/N) does not shatter; its gradients vanish like 2^-L/2 instead",
                Format($"R = {points[^1].NeighbourCorrelation:0.000} at L={deep}; gradient RMS ×{factor:0.000} per layer ({points[0].GradientRms:0.0e0} → {points[^1].GradientRms:0.0e0})"),
                "R ≥ 0.9; ×1/√2 = 0.707 per layer", "R bound cleared by 2 standard errors; factor within 15 %",
                VerdictRule.All(VerdictRule.Above(points[^1].NeighbourCorrelation, 0.9, Se(points[^1])), VerdictRule.WithinRelative(factor, Math.Sqrt(0.5), 0.15))));
        }
        claims.AddRange(GainClaims(results));
        return claims;
    }

    /// <summary>
    /// What sets the resnet's decay: the same blocks with the stream rescaled by 1/√(1 + β²) have a constant backward
    /// gain instead of one falling like 1/(1 + β²l). If the falling gain is what makes the decay a slow power law,
    /// the rescaled net must decorrelate faster at every depth past the first blocks, and exponentially rather than
    /// as a power law (its fit is judged in the ensemble verdicts).
    /// </summary>
    private static IEnumerable<Verdict> GainClaims(ShatteredResults results)
    {
        foreach (var distance in results.Ensemble.Select(e => e.Distance).Distinct().Order())
        {
            EnsemblePoint? At(string variant, int depth) =>
                results.Ensemble.FirstOrDefault(e => e.Variant == variant && e.Depth == depth && Math.Abs(e.Distance - distance) < 1e-9);
            // Only where the resnet is still clearly correlated: once both are noise there is nothing left to compare.
            var depths = results.Options.Depths.Distinct().Order()
                .Where(d => d >= 4 && At("resnet-bn", d) is { } r && At("resnet-bn-rescaled", d) is not null && r.Correlation > ShatteredVerdicts.NoiseFloor(r.StdErr))
                .ToList();
            if (depths.Count == 0) continue;
            var fits = results.EnsembleFits.Where(f => Math.Abs(f.Distance - distance) < 1e-9).ToList();
            var plain = fits.FirstOrDefault(f => f.Variant.Name == "resnet-bn");
            var rescaled = fits.FirstOrDefault(f => f.Variant.Name == "resnet-bn-rescaled");
            static double Spread(EnsemblePoint p) => ShatteredVerdicts.Sigmas * (double.IsNaN(p.StdErr) ? 0 : p.StdErr);
            yield return new Verdict(
                Format($"The falling backward gain of batch-normed blocks sets the resnet's slow decay (|Δx| = {distance:0.00}): with it held constant, R falls faster"),
                string.Join("; ", depths.Select(d => Format($"L={d}: {At("resnet-bn-rescaled", d)!.Correlation:0.000} vs {At("resnet-bn", d)!.Correlation:0.000}"))),
                "rescaled R < resnet-bn R", "at every depth from 4 on where resnet-bn's R is above noise, by 2 standard errors of the difference",
                VerdictRule.All(depths.Select(d =>
                {
                    var (a, b) = (At("resnet-bn-rescaled", d)!, At("resnet-bn", d)!);
                    return VerdictRule.Below(a.Correlation - b.Correlation, 0, Math.Sqrt(Spread(a) * Spread(a) + Spread(b) * Spread(b)));
                })),
                plain is null || rescaled is null ? "" : Format($"fit R² exponential / power law: resnet-bn {plain.Exponential?.RSquared ?? double.NaN:0.00} / {plain.PowerLaw?.RSquared ?? double.NaN:0.00}, rescaled {rescaled.Exponential?.RSquared ?? double.NaN:0.00} / {rescaled.PowerLaw?.RSquared ?? double.NaN:0.00}"),
                "rescaling the stream does not speed up decorrelation: the gain is not what holds the resnet's gradients together");
        }
    }
}
