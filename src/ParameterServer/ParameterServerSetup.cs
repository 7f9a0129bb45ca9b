namespace Distributed.ParameterServer;

/// <summary>
/// What the parameter server starts from: weights (and, when resuming, momentum and version), and how many range
/// servers (<c>--ps-shards</c>) share the state. The state is one flat array whatever the number of servers.
/// </summary>
public sealed record ParameterServerSetup(
    float[] InitialState,
    int ParameterCount,
    float[] DecayMask,
    SgdSettings Optimizer,
    float[]? Momentum = null,
    long InitialVersion = 0,
    int Servers = 1);
