namespace Distributed.Experiments;

/// <summary>What a <see cref="VerdictRule"/> says about a measurement against the value theory predicts.</summary>
public enum Agreement
{
    /// <summary>The measurement lies inside the stated tolerance of the prediction.</summary>
    Agrees,

    /// <summary>The measurement lies outside it, beyond its own uncertainty.</summary>
    Disagrees,

    /// <summary>Too few usable points, or an uncertainty so wide that either answer would be a guess.</summary>
    Inconclusive,
}
