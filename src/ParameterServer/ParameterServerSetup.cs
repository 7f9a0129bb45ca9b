namespace Distributed.ParameterServer;

/// <summary>What the parameter server starts from: weights (and, when resuming, momentum and version).</summary>
public sealed record ParameterServerSetup(
    float[] InitialState,
    int ParameterCount,
    float[] DecayMask,
    SgdSettings Optimizer,
    float[]? Momentum = null,
    long InitialVersion = 0);
