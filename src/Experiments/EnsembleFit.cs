namespace Distributed.Experiments;

/// <summary>The fitted decay of one variant's ensemble correlation at one distance, and its verdict.</summary>
/// <param name="Exponential">ln R against L: base b = e^slope.</param>
/// <param name="PowerLaw">ln R against ln L: exponent p = slope.</param>
/// <param name="PowerLawWithOnset">ln R against ln(1 + β²L): Theorem 3's exponent once its onset at β²L ≈ 1 is accounted for.</param>
/// <param name="Law">What theory predicts; null for variants outside the theorems' assumption.</param>
public sealed record EnsembleFit(
    ShatteredVariant Variant,
    double Distance,
    LineFit? Exponential,
    LineFit? PowerLaw,
    LineFit? PowerLawWithOnset,
    EnsembleLaw? Law,
    Verdict Verdict)
{
    public double Base => Exponential is null ? double.NaN : Math.Exp(Exponential.Slope);
    public double Exponent => PowerLaw?.Slope ?? double.NaN;
    public double OnsetExponent => PowerLawWithOnset?.Slope ?? double.NaN;
}
