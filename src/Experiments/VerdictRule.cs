namespace Distributed.Experiments;

/// <summary>
/// The rules that turn a measurement and a prediction into <see cref="Agreement"/>. Pure functions: every verdict
/// an experiment prints goes through one of them, so a claim cannot be marked as agreeing by a looser test written
/// at the call site.
/// </summary>
public static class VerdictRule
{
    /// <summary>
    /// Agrees when <paramref name="measured"/> lies within <paramref name="tolerance"/> (a fraction, e.g. 0.2 for 20 %)
    /// of <paramref name="expected"/>, widened by <paramref name="uncertainty"/> (e.g. two standard errors of a fit):
    /// a measurement is only held against theory as far as it is known. Inconclusive when the measurement is missing
    /// or its uncertainty alone is larger than the tolerance band, since then either answer would be a guess.
    /// </summary>
    public static Agreement WithinRelative(double measured, double expected, double tolerance, double uncertainty = 0)
    {
        if (!(tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "Tolerance is a non-negative fraction.");
        return WithinAbsolute(measured, expected, tolerance * Math.Abs(expected), uncertainty);
    }

    /// <summary>As <see cref="WithinRelative"/>, with the tolerance in the quantity's own units.</summary>
    public static Agreement WithinAbsolute(double measured, double expected, double tolerance, double uncertainty = 0)
    {
        if (!(tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "Tolerance is non-negative.");
        if (!double.IsFinite(measured) || !double.IsFinite(expected)) return Agreement.Inconclusive;
        var spread = double.IsFinite(uncertainty) ? Math.Abs(uncertainty) : double.PositiveInfinity;
        if (double.IsPositiveInfinity(spread) || (tolerance > 0 && spread > tolerance)) return Agreement.Inconclusive;
        return Math.Abs(measured - expected) <= tolerance + spread ? Agreement.Agrees : Agreement.Disagrees;
    }

    /// <summary>
    /// Agrees when the interval <paramref name="estimate"/> ± <paramref name="halfWidth"/> (e.g. a 95 % interval over
    /// seeds) covers <paramref name="expected"/>; disagrees when it excludes it. Inconclusive when the interval is
    /// missing or wider than <paramref name="maxHalfWidth"/>: an interval that covers everything confirms nothing.
    /// </summary>
    public static Agreement IntervalCovers(double estimate, double halfWidth, double expected, double maxHalfWidth)
    {
        if (!double.IsFinite(estimate) || !double.IsFinite(halfWidth) || halfWidth > maxHalfWidth) return Agreement.Inconclusive;
        return Math.Abs(estimate - expected) <= halfWidth ? Agreement.Agrees : Agreement.Disagrees;
    }

    /// <summary>
    /// A bound: agrees when <paramref name="measured"/> is below <paramref name="bound"/> by more than its
    /// <paramref name="uncertainty"/>, disagrees when it is at or above the bound by more than that, and is
    /// inconclusive when the bound lies within the uncertainty.
    /// </summary>
    public static Agreement Below(double measured, double bound, double uncertainty = 0)
    {
        if (!double.IsFinite(measured) || !double.IsFinite(bound)) return Agreement.Inconclusive;
        var spread = double.IsFinite(uncertainty) ? Math.Abs(uncertainty) : 0;
        if (measured + spread < bound) return Agreement.Agrees;
        if (measured - spread >= bound) return Agreement.Disagrees;
        return Agreement.Inconclusive;
    }

    /// <summary>The mirror of <see cref="Below"/>: agrees when <paramref name="measured"/> is clearly above <paramref name="bound"/>.</summary>
    public static Agreement Above(double measured, double bound, double uncertainty = 0) =>
        Below(-measured, -bound, uncertainty);

    /// <summary>
    /// Within [<paramref name="low"/>, <paramref name="high"/>]: agrees when the whole band ± <paramref name="uncertainty"/>
    /// is inside, disagrees when it is wholly outside, inconclusive when it straddles an end.
    /// </summary>
    public static Agreement Between(double measured, double low, double high, double uncertainty = 0)
    {
        if (!double.IsFinite(measured)) return Agreement.Inconclusive;
        var spread = double.IsFinite(uncertainty) ? Math.Abs(uncertainty) : 0;
        if (measured + spread < low || measured - spread > high) return Agreement.Disagrees;
        return measured - spread >= low && measured + spread <= high ? Agreement.Agrees : Agreement.Inconclusive;
    }

    /// <summary>
    /// A claim made of several parts: it disagrees if any part disagrees, is inconclusive if any part is (and none
    /// disagrees), and agrees only when every part agrees. No parts is inconclusive: nothing was checked.
    /// </summary>
    public static Agreement All(params IEnumerable<Agreement> parts)
    {
        var list = parts.ToList();
        if (list.Count == 0) return Agreement.Inconclusive;
        if (list.Contains(Agreement.Disagrees)) return Agreement.Disagrees;
        return list.Contains(Agreement.Inconclusive) ? Agreement.Inconclusive : Agreement.Agrees;
    }

    /// <summary>A yes/no comparison that has no uncertainty (e.g. one number strictly below another): agrees or disagrees.</summary>
    public static Agreement Holds(bool condition) => condition ? Agreement.Agrees : Agreement.Disagrees;
}
