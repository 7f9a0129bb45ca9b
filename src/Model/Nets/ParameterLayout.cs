using Distributed.Protocol;

namespace Distributed.Model.Nets;

public enum SliceKind { Weight, Bias, NormScale, NormShift, RunningMean, RunningVar }

/// <summary>One tensor's place inside the flat state buffer.</summary>
public sealed record ParameterSlice(string Name, SliceKind Kind, int Offset, int Length, long[] Shape)
{
    public bool IsTrainable => Kind is not (SliceKind.RunningMean or SliceKind.RunningVar);

    /// <summary>Weight decay regularises conv and linear weights only; decaying biases and norm scales only hurts.</summary>
    public bool IsDecayed => Kind == SliceKind.Weight;
}

/// <summary>
/// The order and place of every tensor in the flat state: trainable parameters first
/// ([0, ParameterCount)), then normalization running statistics ([ParameterCount, StateLength)).
/// Gradients use the same offsets over [0, ParameterCount). Every node derives the same layout from the
/// same <see cref="ModelSpec"/>, so buffers can travel without names.
/// </summary>
public sealed class ParameterLayout
{
    public ParameterLayout(IReadOnlyList<ParameterSlice> slices)
    {
        Slices = slices;
        ParameterCount = slices.Where(s => s.IsTrainable).Sum(s => s.Length);
        StateLength = slices.Sum(s => s.Length);
        var offset = 0;
        foreach (var slice in slices)
        {
            if (slice.Offset != offset) throw new ArgumentException($"slice {slice.Name} starts at {slice.Offset}, expected {offset}");
            if (!slice.IsTrainable && offset < ParameterCount)
                throw new ArgumentException($"running statistic {slice.Name} is placed among the trainable parameters");
            offset += slice.Length;
        }
    }

    public IReadOnlyList<ParameterSlice> Slices { get; }
    public int ParameterCount { get; }
    public int StateLength { get; }
    public int RunningStatisticsLength => StateLength - ParameterCount;

    public IEnumerable<ParameterSlice> Trainable => Slices.Where(s => s.IsTrainable);

    /// <summary>1 where weight decay applies, 0 elsewhere, over the trainable range.</summary>
    public float[] DecayMask()
    {
        var mask = new float[ParameterCount];
        foreach (var slice in Trainable.Where(s => s.IsDecayed)) mask.AsSpan(slice.Offset, slice.Length).Fill(1f);
        return mask;
    }
}
