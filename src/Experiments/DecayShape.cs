namespace Distributed.Experiments;

/// <summary>The shape a correlation is predicted to decay with as depth grows.</summary>
public enum DecayShape
{
    /// <summary>R ≈ A·b^L: the fitted quantity is the base b.</summary>
    Exponential,

    /// <summary>R ≈ A·L^p: the fitted quantity is the exponent p.</summary>
    PowerLaw,
}
