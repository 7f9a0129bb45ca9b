namespace Distributed.ParameterServer;

/// <summary>SGD with momentum as PyTorch defines it; applied by the parameter server.</summary>
public sealed record SgdSettings(double Momentum, bool Nesterov, double WeightDecay)
{
    public static SgdSettings Default { get; } = new(0.9, true, 5e-4);
}
