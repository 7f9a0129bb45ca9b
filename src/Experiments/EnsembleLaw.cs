namespace Distributed.Experiments;

/// <summary>A predicted decay of the ensemble gradient correlation: its shape and the base or exponent theory gives.</summary>
/// <param name="Value">The base b of an exponential or the exponent p of a power law.</param>
/// <param name="Text">How the report names it, e.g. "2^-L".</param>
public sealed record EnsembleLaw(DecayShape Shape, double Value, string Text);
