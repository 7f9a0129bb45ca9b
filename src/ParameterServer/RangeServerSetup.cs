namespace Distributed.ParameterServer;

/// <summary>
/// What one range server starts from: its index among the K, its range of the flat state, and that range's slices of
/// the state, momentum and decay mask (the momentum and mask cover only the range's trainable part).
/// </summary>
public sealed record RangeServerSetup(int Index, StateRange Range, float[] State, float[] Momentum, float[] DecayMask, SgdSettings Optimizer)
{
    /// <summary>Server <paramref name="index"/>'s part of a whole-state setup.</summary>
    public static RangeServerSetup Slice(ParameterServerSetup setup, int index, StateRange range)
    {
        var parameters = range.ParametersIn(setup.ParameterCount);
        var momentum = setup.Momentum is { } whole ? whole.AsSpan(range.Start, parameters).ToArray() : new float[parameters];
        return new RangeServerSetup(index, range, setup.InitialState.AsSpan(range.Start, range.Length).ToArray(), momentum,
            setup.DecayMask.AsSpan(range.Start, parameters).ToArray(), setup.Optimizer);
    }
}
