using System.Globalization;
using Distributed.Model.GradientHealth;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Experiments;

/// <summary>Everything measured for one variant at one depth, averaged over seeds.</summary>
/// <param name="NeighbourCorrelation">Mean over seeds of the uncentered lag-1 correlation (the paper's R for neighbours).</param>
/// <param name="NeighbourCorrelationStdErr">Standard error of that mean across seeds (NaN for one seed).</param>
/// <param name="CenteredAcf">Mean centered autocorrelation at lags 0..MaxLag.</param>
/// <param name="UncenteredAcf">Mean uncentered autocorrelation at lags 0..MaxLag (the udlbook's statistic).</param>
/// <param name="CoActivation">Co-activation over all input pairs, averaged over the ReLU layers, then seeds.</param>
/// <param name="CoActivationDeepest">Co-activation of the deepest ReLU layer.</param>
/// <param name="ActiveFraction">Fraction of (unit, input) pairs active, over all ReLU layers.</param>
/// <param name="DeadOrLinearFraction">Fraction of deepest-layer units that never switch over the grid.</param>
/// <param name="DeepestNeighbourFactor">
/// c_neighbour/a of the deepest ReLU layer: the per-layer factor on R in the paper's argument; 1 while
/// neighbouring inputs share their activation pattern, 1/2 once they are independent fair coins.
/// </param>
/// <param name="GradientRms">Root mean square of d output/d input over the grid, mean over seeds.</param>
public sealed record ShatteredPoint(
    string Variant,
    int Depth,
    int Seeds,
    double NeighbourCorrelation,
    double NeighbourCorrelationStdErr,
    double[] CenteredAcf,
    double[] UncenteredAcf,
    double CoActivation,
    double CoActivationDeepest,
    double ActiveFraction,
    double DeadOrLinearFraction,
    double DeepestNeighbourFactor,
    double GradientRms);

/// <summary>Fits of R(L) for one variant and the verdict against <see cref="ShatteredVariant.Expected"/>.</summary>
/// <param name="Exponential">ln R against L: base b = e^slope.</param>
/// <param name="PowerLaw">ln R against ln L: exponent p = slope.</param>
public sealed record ShatteredFit(ShatteredVariant Variant, LineFit? Exponential, LineFit? PowerLaw, bool Agrees, string Evidence)
{
    public double? Base => Exponential is null ? null : Math.Exp(Exponential.Slope);
    public double? Exponent => PowerLaw?.Slope;
}

/// <summary>One claim of the paper (or about the udlbook reproduction), the numbers behind it, and whether it held.</summary>
public sealed record ShatteredClaim(string Statement, string Evidence, bool Holds);

/// <summary>d output / d input over the grid for one network, as in the paper's Figure 1.</summary>
public sealed record GradientTrace(string Label, string Variant, int Depth, double[] Inputs, double[] Gradients);

public sealed record ShatteredResults(
    ShatteredOptions Options,
    IReadOnlyList<ShatteredPoint> Points,
    IReadOnlyList<ShatteredFit> Fits,
    IReadOnlyList<ShatteredClaim> Claims,
    IReadOnlyList<GradientTrace> Traces)
{
    public ShatteredPoint? Find(string variant, int depth) =>
        Points.FirstOrDefault(p => p.Variant == variant && p.Depth == depth);
}

/// <summary>
/// Balduzzi et al. (2017), "The Shattered Gradients Problem": the gradient of a deep plain rectifier net with
/// respect to its input looks like white noise, a resnet's like brown noise. Networks map a scalar to a scalar;
/// we differentiate at 256 grid points on [−2, 2] and measure how fast neighbouring gradients decorrelate with
/// depth, for each variant, over several initialisations.
/// </summary>
public static class ShatteredExperiment
{
    // Float32 like training. This libtorch build runs float64 matrix products about 20 times slower than float32,
    // and float32 keeps every variant in range: the largest gradients (resnet without batch norm at L = 50,
    // variance 2^50) and the smallest (udlbook init, shrinking like 2^-L/2) are far from its limits. Correlations
    // are accumulated in double.
    private const ScalarType Precision = ScalarType.Float32;

    // The paper's Figure 1: a shallow plain net (brown noise), a 24-layer plain net (white), a 50-layer resnet
    // (brown again); plus the udlbook's 24-layer net, whose gradient stays smooth for the reasons the report gives.
    // The shallow example has weights and biases of equal variance, which spreads its kinks x = −b/w over the
    // grid: normalising w·x over a symmetric grid would put every first-layer kink at x = 0, a single step.
    private static readonly (string Label, string Variant, int Depth)[] FigureOne =
    [
        ("1-layer plain net (udlbook initialisation)", "plain-udlbook", 1),
        ("24-layer plain net (batch norm)", "plain-bn", 24),
        ("50-layer resnet (batch norm, β = 1)", "resnet-bn", 50),
        ("24-layer plain net, udlbook initialisation, no batch norm", "plain-udlbook", 24),
    ];

    public static ShatteredResults Run(ShatteredOptions options, TextWriter log)
    {
        options.Validate();
        ExperimentRuntime.Configure(options.Threads, options.Seed);

        var variants = options.Variants.Select(ShatteredVariant.Find).ToList();
        var points = new List<ShatteredPoint>();
        foreach (var variant in variants)
        {
            foreach (var depth in options.Depths.Distinct().Order())
            {
                var point = Measure(variant, depth, options);
                points.Add(point);
                log.WriteLine(FormattableString.Invariant(
                    $"{variant.Name,-18} L={depth,3}  R(neighbours)={point.NeighbourCorrelation,7:0.000} ± {point.NeighbourCorrelationStdErr:0.000}  acf(1)={point.CenteredAcf[1],7:0.000}  co-activation={point.CoActivation:0.000}"));
            }
        }

        var fits = variants.Select(v => FitVariant(v, points.Where(p => p.Variant == v.Name).OrderBy(p => p.Depth).ToList())).ToList();
        var traces = FigureOne
            .Select(f => new GradientTrace(f.Label, f.Variant, f.Depth, Grid(options.Points), Trace(ShatteredVariant.Find(f.Variant), f.Depth, options)))
            .ToList();
        var results = new ShatteredResults(options, points, fits, [], traces);
        return results with { Claims = EvaluateClaims(results) };
    }

    /// <summary>Input grid: <paramref name="points"/> evenly spaced values from −2 to 2 inclusive.</summary>
    public static double[] Grid(int points) =>
        Enumerable.Range(0, points).Select(i => -2.0 + 4.0 * i / (points - 1)).ToArray();

    private static ShatteredPoint Measure(ShatteredVariant variant, int depth, ShatteredOptions options)
    {
        var neighbour = new double[options.Seeds];
        var centered = new double[options.MaxLag + 1];
        var uncentered = new double[options.MaxLag + 1];
        double coActivation = 0, coActivationDeepest = 0, active = 0, deadOrLinear = 0, deepestFactor = 0, rms = 0;

        for (var s = 0; s < options.Seeds; s++)
        {
            using var scope = NewDisposeScope();
            using var network = Build(variant, depth, options, s);
            var x = tensor(Grid(options.Points), Precision).reshape(-1, 1);

            var gradient = ToArray(InputGradients.Compute(network.forward, x));
            neighbour[s] = Autocorrelation.NeighbourCorrelation(gradient);
            Accumulate(centered, Autocorrelation.Centered(gradient, options.MaxLag));
            Accumulate(uncentered, Autocorrelation.Uncentered(gradient, options.MaxLag));
            rms += Math.Sqrt(gradient.Average(g => g * g));

            var preActivations = new List<Tensor>();
            using (no_grad()) network.ForwardRecording(x, preActivations);
            var stats = preActivations.Select(CoActivation.Measure).ToList();
            coActivation += stats.Average(a => a.CoActivation);
            active += stats.Average(a => a.ActiveFraction);
            coActivationDeepest += stats[^1].CoActivation;
            deadOrLinear += stats[^1].DeadOrLinearFraction;
            deepestFactor += stats[^1].NeighbourCorrelationFactor;
        }

        var n = options.Seeds;
        var mean = neighbour.Average();
        var stdErr = n > 1 ? Math.Sqrt(neighbour.Sum(r => (r - mean) * (r - mean)) / (n - 1) / n) : double.NaN;
        return new ShatteredPoint(variant.Name, depth, n, mean, stdErr,
            centered.Select(v => v / n).ToArray(), uncentered.Select(v => v / n).ToArray(),
            coActivation / n, coActivationDeepest / n, active / n, deadOrLinear / n, deepestFactor / n, rms / n);
    }

    private static double[] Trace(ShatteredVariant variant, int depth, ShatteredOptions options)
    {
        using var scope = NewDisposeScope();
        using var network = Build(variant, depth, options, seedIndex: 0);
        var x = tensor(Grid(options.Points), Precision).reshape(-1, 1);
        return ToArray(InputGradients.Compute(network.forward, x));
    }

    /// <summary>
    /// Network k at depth L is drawn from a generator seeded from (Seed, k, L) alone, so one seed reproduces the
    /// whole table, and variants that draw the same tensors in the same order (all but the ones with biases) share
    /// their weights up to scale: differences between them come from the design, not the draw.
    /// </summary>
    private static ScalarNetwork Build(ShatteredVariant variant, int depth, ShatteredOptions options, int seedIndex)
    {
        var seed = unchecked((ulong)options.Seed * 1_000_003UL + (ulong)seedIndex * 1_009UL + (ulong)depth);
        using var generator = new Generator(seed, CPU);
        return new ScalarNetwork(variant.Architecture, depth, options.Width, variant.BatchNorm, variant.Beta,
            variant.Initialization, generator, Precision);
    }

    private static double[] ToArray(Tensor t)
    {
        using var asDouble = t.to_type(ScalarType.Float64).contiguous();
        return asDouble.data<double>().ToArray();
    }

    private static void Accumulate(double[] sum, double[] values)
    {
        for (var i = 0; i < sum.Length; i++) sum[i] += values[i];
    }

    /// <summary>
    /// Three standard errors above zero, and never below 10^-3: a correlation within noise of zero has no
    /// meaningful logarithm and would drag a fit toward whatever the noise happened to be.
    /// </summary>
    public static double NoiseFloor(ShatteredPoint p) =>
        Math.Max(1e-3, double.IsNaN(p.NeighbourCorrelationStdErr) ? 0 : 3 * p.NeighbourCorrelationStdErr);

    private static ShatteredFit FitVariant(ShatteredVariant variant, IReadOnlyList<ShatteredPoint> points)
    {
        var depths = points.Select(p => (double)p.Depth).ToList();
        var values = points.Select(p => p.NeighbourCorrelation).ToList();
        var floors = points.Select(NoiseFloor).ToList();
        var exponential = DecayFit.Exponential(depths, values, floors);
        var powerLaw = DecayFit.PowerLaw(depths, values, floors);
        var first = points[0];
        var last = points[^1];

        var (agrees, evidence) = variant.Expected switch
        {
            // Neighbouring grid points start out sharing almost every activation pattern, so R stays near 1 for a
            // few layers and then falls; 2^-L describes the tail, where each layer's neighbour factor c/a is 1/2.
            ExpectedDecay.Shatters => (
                first.NeighbourCorrelation >= 0.9 && last.NeighbourCorrelation < 0.1 && last.DeepestNeighbourFactor is >= 0.4 and <= 0.65,
                Invariant($"R {first.NeighbourCorrelation:0.000} at L={first.Depth} → {last.NeighbourCorrelation:0.000} at L={last.Depth}; deepest layer's factor c/a = {last.DeepestNeighbourFactor:0.000}")),
            ExpectedDecay.Sublinear => (
                powerLaw is not null && powerLaw.Slope >= -0.6 && last.NeighbourCorrelation >= 0.3,
                powerLaw is null ? "too few depths above the noise floor to fit"
                    : Invariant($"R ∝ L^{powerLaw.Slope:0.000} (R² {powerLaw.RSquared:0.00}); R = {last.NeighbourCorrelation:0.000} at L={last.Depth}")),
            _ => (
                last.NeighbourCorrelation >= 0.3,
                Invariant($"R = {last.NeighbourCorrelation:0.000} at L={last.Depth}; co-activation {last.CoActivationDeepest:0.000}, {last.DeadOrLinearFraction * 100:0}% of deepest units never switch")),
        };
        return new ShatteredFit(variant, exponential, powerLaw, agrees, evidence);
    }

    private static List<ShatteredClaim> EvaluateClaims(ShatteredResults results)
    {
        var claims = new List<ShatteredClaim>();
        var depths = results.Options.Depths.Distinct().Order().ToList();
        var shallow = depths[0];
        var deep = depths[^1];
        ShatteredPoint? At(string variant, int depth) => results.Find(variant, depth);
        bool Has(params string[] variants) => variants.All(v => results.Options.Variants.Contains(v));

        if (Has("plain-bn") && depths.Count > 1)
        {
            var (a, b) = (At("plain-bn", shallow)!, At("plain-bn", deep)!);
            claims.Add(new("A deep plain net's gradients are shattered (neighbouring gradients decorrelate)",
                Invariant($"plain-bn: R = {a.NeighbourCorrelation:0.000} at L={shallow}, {b.NeighbourCorrelation:0.000} ± {b.NeighbourCorrelationStdErr:0.000} at L={deep}"),
                a.NeighbourCorrelation >= 0.9 && b.NeighbourCorrelation < 0.1));
            claims.Add(new("In the shattered regime each layer halves the correlation (the 2^-L of Theorem 1)",
                Invariant($"plain-bn at L={deep}: deepest layer's neighbour co-activation / activation = {b.DeepestNeighbourFactor:0.000} (1/2 expected, 1 = unshattered)"),
                b.DeepestNeighbourFactor is >= 0.4 and <= 0.65));
        }
        if (Has("plain-bn", "resnet-bn"))
        {
            var (plain, res) = (At("plain-bn", deep)!, At("resnet-bn", deep)!);
            claims.Add(new("A resnet with batch norm keeps its gradients correlated at the same depth",
                Invariant($"L={deep}: resnet-bn R = {res.NeighbourCorrelation:0.000}, plain-bn R = {plain.NeighbourCorrelation:0.000}"),
                res.NeighbourCorrelation >= 0.5 && res.NeighbourCorrelation >= plain.NeighbourCorrelation + 0.4));
            var compared = depths.Where(d => d >= 8).ToList();
            var slower = compared.All(d => At("plain-bn", d)!.NeighbourCorrelation < At("resnet-bn", d)!.NeighbourCorrelation);
            claims.Add(new("Plain nets decorrelate faster than resnets at every depth (from L = 8 on)",
                string.Join("; ", compared.Select(d => Invariant($"L={d}: {At("plain-bn", d)!.NeighbourCorrelation:0.000} vs {At("resnet-bn", d)!.NeighbourCorrelation:0.000}"))),
                compared.Count > 0 && slower));
        }
        if (Has("resnet-bn", "resnet-bn-beta0.1"))
        {
            var half = Has("resnet-bn-beta0.5") ? Invariant($", β=0.5: {At("resnet-bn-beta0.5", deep)!.NeighbourCorrelation:0.000}") : "";
            var (one, tenth) = (At("resnet-bn", deep)!, At("resnet-bn-beta0.1", deep)!);
            claims.Add(new("A smaller residual scale β decays more slowly",
                Invariant($"L={deep}: β=1: {one.NeighbourCorrelation:0.000}{half}, β=0.1: {tenth.NeighbourCorrelation:0.000}"),
                tenth.NeighbourCorrelation > one.NeighbourCorrelation));
        }
        var withNorm = results.Points.Where(p => ShatteredVariant.Find(p.Variant).BatchNorm).ToList();
        if (withNorm.Count > 0)
        {
            var worst = withNorm.MaxBy(p => Math.Abs(p.CoActivation - 0.25))!;
            claims.Add(new("With batch norm, the co-activation of ReLU units stays near 1/4",
                Invariant($"largest deviation: {worst.CoActivation:0.000} ({worst.Variant}, L={worst.Depth}) over {withNorm.Count} variant-depths"),
                Math.Abs(worst.CoActivation - 0.25) <= 0.02));
        }
        var withoutNorm = results.Options.Variants.Where(v => !ShatteredVariant.Find(v).BatchNorm).ToList();
        if (withoutNorm.Count > 0 && deep >= 8)
        {
            var deepest = withoutNorm.Select(v => At(v, deep)!).ToList();
            claims.Add(new("Without batch norm, co-activation drifts toward 1/2, breaking the theorems' assumption",
                string.Join("; ", deepest.Select(p => Invariant($"{p.Variant}: {p.CoActivationDeepest:0.000}"))) + Invariant($" (deepest layer, L={deep})"),
                deepest.All(p => p.CoActivationDeepest >= 0.35)));
        }
        if (Has("plain-bn", "plain-udlbook-bn"))
        {
            var gaps = depths.Select(d => (Depth: d, A: At("plain-bn", d)!, B: At("plain-udlbook-bn", d)!)).ToList();
            var holds = gaps.All(g => Math.Abs(g.A.NeighbourCorrelation - g.B.NeighbourCorrelation)
                <= 3 * Math.Sqrt(Square(g.A.NeighbourCorrelationStdErr) + Square(g.B.NeighbourCorrelationStdErr)) + 0.03);
            var largest = gaps.MaxBy(g => Math.Abs(g.A.NeighbourCorrelation - g.B.NeighbourCorrelation));
            claims.Add(new("With batch norm the udlbook initialisation shatters exactly like He's",
                Invariant($"largest gap in R: {Math.Abs(largest.A.NeighbourCorrelation - largest.B.NeighbourCorrelation):0.000} at L={largest.Depth}, within 3 standard errors + 0.03 at every depth: {holds}"),
                holds));
        }
        if (Has("plain-udlbook") && depths.Count > 1)
        {
            var points = depths.Select(d => At("plain-udlbook", d)!).ToList();
            var fit = DecayFit.Line(points.Select(p => (double)p.Depth).ToList(), points.Select(p => Math.Log(p.GradientRms)).ToList());
            var factor = fit is null ? double.NaN : Math.Exp(fit.Slope);
            claims.Add(new("The udlbook's net (no batch norm, variance 1/N) does not shatter; its gradients vanish like 2^-L/2 instead",
                Invariant($"R = {points[^1].NeighbourCorrelation:0.000} at L={deep}; gradient RMS ×{factor:0.000} per layer (1/√2 = 0.707 expected), {points[0].GradientRms:0.0e0} → {points[^1].GradientRms:0.0e0}"),
                points[^1].NeighbourCorrelation >= 0.9 && factor is >= 0.6 and <= 0.8));
        }
        return claims;
    }

    private static double Square(double v) => double.IsNaN(v) ? 0 : v * v;

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
