namespace Distributed.Experiments;

/// <summary>Every knob of <c>experiment shattered</c> in one place.</summary>
/// <param name="Depths">Rectifier layers per network; the paper goes to 50.</param>
/// <param name="Width">Units per hidden layer; the paper uses 200.</param>
/// <param name="Points">Grid points on [−2, 2]; the paper uses 256.</param>
/// <param name="Seeds">Independent initialisations averaged per variant and depth.</param>
/// <param name="Seed">Base seed; network k at depth L draws from a generator seeded from (Seed, k, L).</param>
/// <param name="MaxLag">Largest lag of the autocorrelation written to the CSV.</param>
/// <param name="Variants">Names from <see cref="ShatteredVariant.All"/>.</param>
/// <param name="EnsembleSeeds">Initialisations in the ensemble over which gradients at two fixed inputs are correlated.</param>
/// <param name="EnsembleDistances">Distances |x − x'| between the two inputs, in input units (rounded to whole grid steps).</param>
/// <param name="EnsembleVariants">Variants of the ensemble study: the batch-normed ones, whose units are the theorems' fair coins.</param>
/// <param name="Threads">
/// libtorch intra-op threads. One by default: these 200-wide layers on 256 points are too small to split, and on
/// the 2-core machines here two threads made a 256×200×200 product 2–9 times slower than one (0.27 ms vs 0.5–2.5 ms).
/// </param>
public sealed record ShatteredOptions(
    IReadOnlyList<int> Depths,
    int Width,
    int Points,
    int Seeds,
    int Seed,
    int MaxLag,
    IReadOnlyList<string> Variants,
    int EnsembleSeeds,
    IReadOnlyList<double> EnsembleDistances,
    IReadOnlyList<string> EnsembleVariants,
    int Threads)
{
    public static ShatteredOptions Default { get; } = new(
        Depths: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 50],
        Width: 200,
        Points: 256,
        Seeds: 8,
        Seed: 1,
        MaxLag: 16,
        Variants: ShatteredVariant.All.Select(v => v.Name).ToArray(),
        EnsembleSeeds: 64,
        EnsembleDistances: [0.05, 0.25, 1.0],
        EnsembleVariants: ["plain-bn", "resnet-bn", "resnet-bn-beta0.5", "resnet-bn-beta0.1", "resnet-bn-rescaled"],
        Threads: 1);

    /// <summary>
    /// Seconds, not minutes: enough depths to see each trend, enough seeds to average out one bad draw, and an
    /// ensemble large enough to fit the plain net's 2^-L and the two resnets' laws at one distance.
    /// </summary>
    public static ShatteredOptions Quick { get; } = Default with
    {
        Depths = [1, 2, 3, 4, 12, 32],
        Seeds = 3,
        EnsembleSeeds = 24,
        EnsembleDistances = [0.25],
        EnsembleVariants = ["plain-bn", "resnet-bn", "resnet-bn-rescaled"],
    };

    public void Validate()
    {
        if (Depths.Count == 0 || Depths.Any(d => d < 1)) throw new ArgumentException("Depths must be a non-empty list of positive integers.");
        if (Width < 1) throw new ArgumentException("Width must be positive.");
        if (Points < 4) throw new ArgumentException("Points must be at least 4.");
        if (Seeds < 1) throw new ArgumentException("Seeds must be at least 1.");
        if (MaxLag < 1 || MaxLag >= Points) throw new ArgumentException($"Max lag must lie in [1, {Points - 1}].");
        if (Threads < 1) throw new ArgumentException("Threads must be positive.");
        foreach (var name in Variants) ShatteredVariant.Find(name);
        if (EnsembleVariants.Count > 0 && EnsembleSeeds < 2) throw new ArgumentException("The ensemble needs at least 2 seeds.");
        if (EnsembleDistances.Any(d => !(d > 0) || d >= 4)) throw new ArgumentException("Ensemble distances must lie in (0, 4): the grid spans [−2, 2].");
        foreach (var name in EnsembleVariants)
        {
            if (ShatteredVariant.Find(name).EnsembleExpectation is null)
                throw new ArgumentException($"Ensemble variant '{name}' has no batch norm: the theorems' fair-coin assumption does not hold for it.");
        }
    }
}
