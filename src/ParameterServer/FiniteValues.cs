using System.Numerics;

namespace Distributed.ParameterServer;

/// <summary>Checks that a buffer holds only finite numbers, fast enough to run on every step.</summary>
public static class FiniteValues
{
    public static bool All(ReadOnlySpan<float> values)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // x - x is 0 for every finite x and NaN for NaN and ±infinity, so one NaN test covers all three.
            var accumulated = Vector<float>.Zero;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(values[i..]);
                accumulated += v - v;
            }
            if (!Vector.EqualsAll(accumulated, accumulated)) return false;
        }
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i])) return false;
        }
        return true;
    }

    /// <summary>Where the first non-finite value sits: in the gradient or the running statistics, and how many there are.</summary>
    public static string Describe(ReadOnlySpan<float> buffer, int parameterCount)
    {
        int first = -1, count = 0;
        for (var i = 0; i < buffer.Length; i++)
        {
            if (float.IsFinite(buffer[i])) continue;
            if (first < 0) first = i;
            count++;
        }
        return first < 0
            ? "finite"
            : $"{count} non-finite values, the first ({buffer[first]}) at {(first < parameterCount ? "gradient" : "running statistic")} index {first}";
    }
}
