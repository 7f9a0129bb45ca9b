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

/// <summary>Fits of the neighbour correlation R(L) for one variant and the verdict against <see cref="ShatteredVariant.Expected"/>.</summary>
/// <param name="Exponential">ln R against L: base b = e^slope.</param>
/// <param name="PowerLaw">ln R against ln L: exponent p = slope.</param>
public sealed record ShatteredFit(ShatteredVariant Variant, LineFit? Exponential, LineFit? PowerLaw, Verdict Verdict)
{
    public double? Base => Exponential is null ? null : Math.Exp(Exponential.Slope);
    public double? Exponent => PowerLaw?.Slope;
}

/// <summary>d output / d input over the grid for one network, as in the paper's Figure 1.</summary>
public sealed record GradientTrace(string Label, string Variant, int Depth, double[] Inputs, double[] Gradients);

public sealed record ShatteredResults(
    ShatteredOptions Options,
    IReadOnlyList<ShatteredPoint> Points,
    IReadOnlyList<ShatteredFit> Fits,
    IReadOnlyList<Verdict> Claims,
    IReadOnlyList<GradientTrace> Traces,
    IReadOnlyList<EnsemblePoint> Ensemble,
    IReadOnlyList<EnsembleFit> EnsembleFits)
{
    public ShatteredPoint? Find(string variant, int depth) =>
        Points.FirstOrDefault(p => p.Variant == variant && p.Depth == depth);

    /// <summary>Every verdict the experiment prints: neighbour fits, ensemble fits, then the claims.</summary>
    public IEnumerable<Verdict> Verdicts => Fits.Select(f => f.Verdict).Concat(EnsembleFits.Select(f => f.Verdict)).Concat(Claims);
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

        var ensemble = new List<EnsemblePoint>();
        foreach (var variant in options.EnsembleVariants.Select(ShatteredVariant.Find))
        {
            foreach (var depth in options.Depths.Distinct().Order())
            {
                var gradients = EnsembleCorrelation.Gradients(variant, depth, options);
                foreach (var distance in options.EnsembleDistances)
                {
                    var lag = EnsembleCorrelation.Lag(distance, options.Points);
                    var (r, stdErr, pairs) = EnsembleCorrelation.Measure(gradients, lag);
                    ensemble.Add(new EnsemblePoint(variant.Name, depth, lag * 4.0 / (options.Points - 1), options.EnsembleSeeds, r, stdErr, pairs));
                }
                log.WriteLine(FormattableString.Invariant(
                    $"{variant.Name,-18} L={depth,3}  ensemble R over {options.EnsembleSeeds} seeds: {string.Join(", ", ensemble.Where(e => e.Variant == variant.Name && e.Depth == depth).Select(e => $"|Δx|={e.Distance:0.00}: {e.Correlation:0.000} ± {e.StdErr:0.000}"))}"));
            }
        }

        var fits = variants.Select(v => ShatteredVerdicts.FitNeighbours(v, points.Where(p => p.Variant == v.Name).OrderBy(p => p.Depth).ToList())).ToList();
        var ensembleFits = options.EnsembleVariants.Select(ShatteredVariant.Find)
            .SelectMany(v => options.EnsembleDistances.Select(d => ensemble.Where(e => e.Variant == v.Name && Math.Abs(e.Distance - d) < 4.0 / options.Points).OrderBy(e => e.Depth).ToList())
                .Where(series => series.Count > 0)
                .Select(series => ShatteredVerdicts.FitEnsemble(v, series)))
            .ToList();
        var traces = FigureOne
            .Select(f => new GradientTrace(f.Label, f.Variant, f.Depth, Grid(options.Points), Trace(ShatteredVariant.Find(f.Variant), f.Depth, options)))
            .ToList();
        var results = new ShatteredResults(options, points, fits, [], traces, ensemble, ensembleFits);
        return results with { Claims = ShatteredClaims.Evaluate(results) };
    }

    /// <summary>d output/d input at every grid point for network <paramref name="seedIndex"/> of this variant and depth.</summary>
    public static double[] GridGradient(ShatteredVariant variant, int depth, ShatteredOptions options, int seedIndex)
    {
        using var scope = NewDisposeScope();
        using var network = Build(variant, depth, options, seedIndex);
        var x = tensor(Grid(options.Points), Precision).reshape(-1, 1);
        return ToArray(InputGradients.Compute(network.forward, x));
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

    private static double[] Trace(ShatteredVariant variant, int depth, ShatteredOptions options) =>
        GridGradient(variant, depth, options, seedIndex: 0);

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
            variant.Initialization, generator, Precision, rescaleStream: variant.RescaledStream);
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

}
