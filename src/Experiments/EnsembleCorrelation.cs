using static TorchSharp.torch;

namespace Distributed.Experiments;

/// <summary>
/// Measures <see cref="EnsemblePoint"/>s: one network per seed, its gradient over the whole grid (the grid is the
/// batch batch norm sees, as in the neighbour sweep), then for every pair of grid points a distance apart the
/// correlation of their two gradients across the seeds. Averaging over the pairs' positions keeps the estimate
/// steady with tens of seeds; the jackknife over seed groups says how steady.
/// </summary>
public static class EnsembleCorrelation
{
    /// <summary>Seed groups of the jackknife: enough for a standard error, few enough that each group has several seeds.</summary>
    public const int Groups = 8;

    /// <summary>Gradients at every grid point, one row per seed.</summary>
    public static double[][] Gradients(ShatteredVariant variant, int depth, ShatteredOptions options)
    {
        var rows = new double[options.EnsembleSeeds][];
        for (var s = 0; s < rows.Length; s++) rows[s] = ShatteredExperiment.GridGradient(variant, depth, options, s);
        return rows;
    }

    /// <summary>Lag in grid steps nearest to <paramref name="distance"/> on a grid of <paramref name="points"/> over [−2, 2], at least 1.</summary>
    public static int Lag(double distance, int points) => Math.Max(1, (int)Math.Round(distance * (points - 1) / 4.0));

    /// <summary>R at lag <paramref name="lag"/> over all seeds, and its jackknife standard error over <see cref="Groups"/> seed groups.</summary>
    public static (double Correlation, double StdErr, int Pairs) Measure(double[][] gradients, int lag)
    {
        var seeds = gradients.Length;
        var points = gradients[0].Length;
        var pairs = points - lag;
        if (pairs < 1) throw new ArgumentOutOfRangeException(nameof(lag), lag, $"Lag must be below the {points} grid points.");
        var groups = Math.Min(Groups, seeds);

        // Per group g and grid point i: Σ ∇ᵢ∇ᵢ₊ₖ and Σ ∇ᵢ² over the group's seeds. Deleting a group is a subtraction.
        var cross = new double[groups, pairs];
        var square = new double[groups, points];
        for (var s = 0; s < seeds; s++)
        {
            var g = s % groups;
            var row = gradients[s];
            for (var i = 0; i < points; i++) square[g, i] += row[i] * row[i];
            for (var i = 0; i < pairs; i++) cross[g, i] += row[i] * row[i + lag];
        }
        var all = Estimate(cross, square, lag, skip: -1);
        if (groups < 2) return (all, double.NaN, pairs);
        var deleted = Enumerable.Range(0, groups).Select(g => Estimate(cross, square, lag, skip: g)).ToList();
        var mean = deleted.Average();
        var variance = (groups - 1.0) / groups * deleted.Sum(d => (d - mean) * (d - mean));
        return (all, Math.Sqrt(variance), pairs);
    }

    private static double Estimate(double[,] cross, double[,] square, int lag, int skip)
    {
        var groups = cross.GetLength(0);
        var pairs = cross.GetLength(1);
        var points = square.GetLength(1);
        var c = new double[pairs];
        var v = new double[points];
        for (var g = 0; g < groups; g++)
        {
            if (g == skip) continue;
            for (var i = 0; i < pairs; i++) c[i] += cross[g, i];
            for (var i = 0; i < points; i++) v[i] += square[g, i];
        }
        double sum = 0;
        var counted = 0;
        for (var i = 0; i < pairs; i++)
        {
            var norm = Math.Sqrt(v[i] * v[i + lag]);
            if (norm == 0) continue;
            sum += c[i] / norm;
            counted++;
        }
        return counted == 0 ? double.NaN : sum / counted;
    }
}
