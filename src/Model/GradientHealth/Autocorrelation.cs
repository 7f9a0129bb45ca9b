namespace Distributed.Model.GradientHealth;

/// <summary>
/// Correlation of a gradient with itself at nearby inputs: how "brown" (smooth, informative) or "white"
/// (shattered, Balduzzi et al. 2017) a gradient field is. Plain arrays, no tensors, so the same code scores a
/// probe sweep and a live training metric.
/// </summary>
public static class Autocorrelation
{
    // Below this ratio of variance to mean square a sequence counts as constant. Rounding in float64 sums of a
    // few hundred terms stays far below it; anything the networks produce that matters stays far above it.
    private const double ConstantTolerance = 1e-20;

    /// <summary>
    /// Centered, normalized autocorrelation r(k) = Σ_t (x_t − μ)(x_{t+k} − μ) / Σ_t (x_t − μ)², k = 0..maxLag.
    /// Dividing every lag by the full sum of squares (the biased estimator) keeps |r(k)| ≤ 1 and the sequence a
    /// valid autocorrelation; at 256 points the bias at small lags is under 1%.
    /// A constant sequence has no fluctuation to correlate: it is reported as 1 at every lag, because a constant
    /// gradient is perfectly predictable from its neighbour, which is the opposite of shattered (and avoids 0/0).
    /// </summary>
    public static double[] Centered(ReadOnlySpan<double> x, int maxLag)
    {
        ValidateLag(x.Length, maxLag);
        var mean = 0.0;
        foreach (var v in x) mean += v;
        mean /= x.Length;

        var result = new double[maxLag + 1];
        var sumSquares = 0.0;
        var meanSquare = 0.0;
        foreach (var v in x)
        {
            sumSquares += (v - mean) * (v - mean);
            meanSquare += v * v;
        }
        if (sumSquares <= ConstantTolerance * meanSquare || sumSquares == 0)
        {
            Array.Fill(result, 1.0);
            return result;
        }
        for (var k = 0; k <= maxLag; k++)
        {
            var s = 0.0;
            for (var t = 0; t + k < x.Length; t++) s += (x[t] - mean) * (x[t + k] - mean);
            result[k] = s / sumSquares;
        }
        return result;
    }

    /// <summary>
    /// Uncentered autocorrelation Σ_t x_t x_{t+k} / Σ_t x_t², what <c>np.correlate(g, g, "same")</c> divided by its
    /// lag-0 value gives. Any constant offset in the gradient counts as correlation, so a shattered gradient
    /// riding on a large mean still scores near 1; kept to show that effect, not to judge shattering.
    /// An all-zero sequence is reported as 1 at every lag, like a constant one in <see cref="Centered"/>.
    /// </summary>
    public static double[] Uncentered(ReadOnlySpan<double> x, int maxLag)
    {
        ValidateLag(x.Length, maxLag);
        var result = new double[maxLag + 1];
        var sumSquares = 0.0;
        foreach (var v in x) sumSquares += v * v;
        if (sumSquares == 0)
        {
            Array.Fill(result, 1.0);
            return result;
        }
        for (var k = 0; k <= maxLag; k++)
        {
            var s = 0.0;
            for (var t = 0; t + k < x.Length; t++) s += x[t] * x[t + k];
            result[k] = s / sumSquares;
        }
        return result;
    }

    /// <summary>
    /// Cosine similarity between the gradient field and itself shifted by <paramref name="lag"/> grid steps:
    /// Σ_t g_t g_{t+lag} / √(Σ_t g_t² · Σ_t g_{t+lag}²) over the overlapping points. This is the per-network
    /// estimate of the paper's R(i, j) = E[g_i g_j] / √(E[g_i²] E[g_j²]) for neighbouring inputs i, j, where the
    /// expectation is over the random weights and E[g] = 0 by the sign symmetry of the output weights, so the
    /// theorem's correlation is uncentered. Averaging it over independent networks estimates R itself.
    /// Zero gradients (a dead network) are reported as 1, for the same reason as a constant sequence.
    /// </summary>
    public static double NeighbourCorrelation(ReadOnlySpan<double> g, int lag = 1)
    {
        ValidateLag(g.Length, lag);
        if (lag == 0) return 1.0;
        double cross = 0, left = 0, right = 0;
        for (var t = 0; t + lag < g.Length; t++)
        {
            cross += g[t] * g[t + lag];
            left += g[t] * g[t];
            right += g[t + lag] * g[t + lag];
        }
        if (left == 0 || right == 0) return left == right ? 1.0 : 0.0;
        return cross / Math.Sqrt(left * right);
    }

    private static void ValidateLag(int length, int maxLag)
    {
        if (length < 2) throw new ArgumentException("An autocorrelation needs at least two points.", nameof(length));
        if (maxLag < 0 || maxLag >= length)
            throw new ArgumentOutOfRangeException(nameof(maxLag), maxLag, $"Lag must lie in [0, {length - 1}].");
    }
}
