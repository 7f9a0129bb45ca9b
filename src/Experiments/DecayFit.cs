namespace Distributed.Experiments;

/// <summary>A least-squares line through transformed points, y = Intercept + Slope·x.</summary>
/// <param name="Points">How many points the fit used (points at or below the noise floor are left out).</param>
/// <param name="SlopeStdErr">Standard error of the slope from the residuals; NaN with two points, which any line fits exactly.</param>
public sealed record LineFit(double Slope, double Intercept, double RSquared, int Points, double SlopeStdErr = double.NaN);

/// <summary>
/// Fits of correlation against depth. Exponential decay R = A·b^L is a line in (L, ln R), so b = e^slope;
/// a power law R = A·L^p is a line in (ln L, ln R), so p = slope. Comparing the two R² says which shape fits.
/// </summary>
public static class DecayFit
{
    /// <returns>A fit whose <c>Math.Exp(Slope)</c> is the base b, or null with fewer than two usable points.</returns>
    public static LineFit? Exponential(IReadOnlyList<double> depths, IReadOnlyList<double> values, IReadOnlyList<double> floors) =>
        Fit(depths, values, floors, d => d);

    /// <returns>A fit whose <c>Slope</c> is the exponent p, or null with fewer than two usable points.</returns>
    public static LineFit? PowerLaw(IReadOnlyList<double> depths, IReadOnlyList<double> values, IReadOnlyList<double> floors) =>
        Fit(depths, values, floors, Math.Log);

    /// <summary>Ordinary least squares; R² is 1 for a perfect line and for a flat line fitted exactly.</summary>
    public static LineFit? Line(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y differ in length.");
        var n = x.Count;
        if (n < 2) return null;
        double mx = x.Average(), my = y.Average(), sxx = 0, sxy = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            sxx += (x[i] - mx) * (x[i] - mx);
            sxy += (x[i] - mx) * (y[i] - my);
            syy += (y[i] - my) * (y[i] - my);
        }
        if (sxx == 0) return null;
        var slope = sxy / sxx;
        var residual = syy - slope * sxy;
        var r2 = syy == 0 ? 1.0 : 1.0 - residual / syy;
        var slopeStdErr = n > 2 ? Math.Sqrt(Math.Max(0, residual) / (n - 2) / sxx) : double.NaN;
        return new LineFit(slope, my - slope * mx, r2, n, slopeStdErr);
    }

    /// <summary>
    /// Power law in 1 + <paramref name="scale"/>·L rather than L: R = A·(1 + s·L)^p has the same asymptotic exponent p
    /// as A·L^p but reaches it only once s·L ≫ 1, which is where Theorem 3 says a resnet with residual scale β
    /// (s = β²) gets to its L^-1/2.
    /// </summary>
    public static LineFit? PowerLawWithOnset(IReadOnlyList<double> depths, IReadOnlyList<double> values, IReadOnlyList<double> floors, double scale) =>
        Fit(depths, values, floors, l => Math.Log(1 + scale * l));

    private static LineFit? Fit(IReadOnlyList<double> depths, IReadOnlyList<double> values, IReadOnlyList<double> floors,
        Func<double, double> transformDepth)
    {
        // A correlation within noise of zero has no meaningful logarithm: it would drag the fit toward whatever the
        // noise happened to be. Only points clearly above their own noise floor are fitted.
        var x = new List<double>();
        var y = new List<double>();
        for (var i = 0; i < depths.Count; i++)
        {
            if (!(values[i] > floors[i]) || values[i] <= 0) continue;
            x.Add(transformDepth(depths[i]));
            y.Add(Math.Log(values[i]));
        }
        return Line(x, y);
    }
}
