namespace Distributed.Experiments;

/// <summary>What a variant's neighbour-gradient correlation R(L) should do as depth L grows.</summary>
public enum ExpectedDecay
{
    /// <summary>
    /// Shattered: R collapses to noise, and once neighbouring inputs have decorrelated every further layer halves
    /// it (Theorem 1's 2^-L, per layer factor c/a = 1/2 at co-activation 1/4).
    /// </summary>
    Shatters,

    /// <summary>Sublinear: a power law no steeper than Theorem 3's L^-1/2.</summary>
    Sublinear,

    /// <summary>No collapse: R stays well above the shattered nets', because the theorems' assumption fails.</summary>
    NoCollapse,
}

/// <summary>One network family of the shattered-gradients sweep and what we expect of it.</summary>
/// <param name="PaperFormula">
/// Balduzzi et al.'s formula for this architecture, derived assuming every unit is a fair coin per input
/// (co-activation 1/4): Theorem 1, plain 2^-L; Theorem 2, resnet without batch norm at β = 1, (3/4)^L;
/// Theorem 3, resnet with batch norm, L^-1/2 (reached more slowly for small β).
/// </param>
/// <param name="Expected">What we expect here, given whether that assumption holds for this variant.</param>
/// <param name="Reason">Why, in one line, for the report.</param>
public sealed record ShatteredVariant(
    string Name,
    Architecture Architecture,
    bool BatchNorm,
    double Beta,
    Initialization Initialization,
    string PaperFormula,
    ExpectedDecay Expected,
    string Reason,
    bool RescaledStream = false)
{
    /// <summary>
    /// What the ensemble correlation of gradients at two inputs far enough apart to be independent fair coins
    /// should do, by the covariance recursion of Balduzzi et al.: per layer the gradient's variance is multiplied by
    /// 1 + g and its covariance by 1 + g/2, where g is the branch's backward gain (co-activation 1/4 over activation
    /// 1/2 halves the cross term). Plain nets are all branch (covariance ×1/2 of the variance: 2^-L). A batch-normed
    /// resnet's branch gain is β²/(1 + β²·l) in block l, because the stream's variance grows by β² per block while
    /// batch norm feeds every branch unit variance: Π (1 + g/2)/(1 + g) ≈ (1 + β²L)^-1/2, Theorem 3's L^-1/2 once
    /// β²L ≫ 1. With the stream rescaled the gain is a constant β²/(1 + β²): exponential, base (1 + β²/2)/(1 + β²).
    /// Null for variants without batch norm, whose units are not fair coins (the theorems' assumption fails).
    /// </summary>
    public EnsembleLaw? EnsembleExpectation => !BatchNorm ? null
        : Architecture == Architecture.Plain ? new EnsembleLaw(DecayShape.Exponential, 0.5, "2^-L (×0.5 per layer)")
        : RescaledStream ? new EnsembleLaw(DecayShape.Exponential, (1 + Beta * Beta / 2) / (1 + Beta * Beta),
            FormattableString.Invariant($"×{(1 + Beta * Beta / 2) / (1 + Beta * Beta):0.###} per block"))
        : new EnsembleLaw(DecayShape.PowerLaw, -0.5, "L^-1/2");

    public string ExpectedText => Expected switch
    {
        ExpectedDecay.Shatters => "collapses; tail ×1/2 per layer",
        ExpectedDecay.Sublinear => "power law, no steeper than L^-1/2",
        _ => "stays correlated",
    };

    public static IReadOnlyList<ShatteredVariant> All { get; } =
    [
        new("plain-bn", Architecture.Plain, true, 1, Initialization.He, "2^-L", ExpectedDecay.Shatters,
            "batch norm centres every unit over the batch: each fires for half the inputs, co-activation 1/4, as Theorem 1 assumes"),
        new("plain-udlbook-bn", Architecture.Plain, true, 1, Initialization.Udlbook, "2^-L", ExpectedDecay.Shatters,
            "the udlbook initialisation plus batch norm: normalisation erases weight scale and biases, so it must shatter like plain-bn"),
        new("plain-he", Architecture.Plain, false, 1, Initialization.He, "2^-L", ExpectedDecay.NoCollapse,
            "zero biases, no normalisation: f(x) = x·f(±1) is linear on each side of 0, one kink, nothing to shatter"),
        new("plain-he-bias", Architecture.Plain, false, 1, Initialization.HeWithBiases, "2^-L", ExpectedDecay.NoCollapse,
            "He scaling puts a ReLU net at the edge of chaos, not in it: units drift to always-on/always-off and co-activation toward 1/2"),
        new("plain-udlbook", Architecture.Plain, false, 1, Initialization.Udlbook, "2^-L", ExpectedDecay.NoCollapse,
            "the udlbook notebook: weight variance 1/N is half of He's, the ordered phase; deep units fire alike for every x and gradients shrink 2^-L/2"),
        new("resnet-bias", Architecture.Residual, false, 1, Initialization.HeWithBiases, "(3/4)^L", ExpectedDecay.NoCollapse,
            "Theorem 2's resnet (no batch norm, β = 1), with biases so units can switch; without normalisation co-activation drifts toward 1/2"),
        new("resnet-bn", Architecture.Residual, true, 1, Initialization.He, "L^-1/2", ExpectedDecay.Sublinear,
            "Theorem 3: the identity path carries a share of the gradient that no rectifier can shatter"),
        new("resnet-bn-beta0.5", Architecture.Residual, true, 0.5, Initialization.He, "L^-1/2", ExpectedDecay.Sublinear,
            "Theorem 3 with β = 0.5: the branches' share grows more slowly"),
        new("resnet-bn-beta0.1", Architecture.Residual, true, 0.1, Initialization.He, "L^-1/2", ExpectedDecay.Sublinear,
            "Theorem 3 with β = 0.1: the identity path dominates, slowest decay"),
        new("resnet-bn-rescaled", Architecture.Residual, true, 1, Initialization.He, "(3/4)^L", ExpectedDecay.Shatters,
            "resnet-bn with the stream rescaled by 1/√(1 + β²) after every block: the same blocks with a constant backward gain, " +
            "to show that the gain's fall with depth, not the shortcut alone, sets the power law",
            RescaledStream: true),
    ];

    public static ShatteredVariant Find(string name) =>
        All.FirstOrDefault(v => v.Name == name)
        ?? throw new ArgumentException($"Unknown variant '{name}'. Known: {string.Join(", ", All.Select(v => v.Name))}.");
}
