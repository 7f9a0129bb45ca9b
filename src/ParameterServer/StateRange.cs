namespace Distributed.ParameterServer;

/// <summary>
/// A contiguous range [Start, End) of the flat state [parameters | running statistics]. The part below the model's
/// parameter count is trained by SGD; the rest holds running statistics, which are averaged and replaced.
/// </summary>
public readonly record struct StateRange(int Start, int End)
{
    public int Length => End - Start;

    /// <summary>How many of the range's values are trainable parameters (they come first in the range).</summary>
    public int ParametersIn(int parameterCount) => Math.Clamp(parameterCount - Start, 0, Length);

    public override string ToString() => $"[{Start}, {End})";
}
