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
        var (count, first) = Count(buffer);
        return count == 0 ? "finite" : Describe(count, first, buffer[first], parameterCount);
    }

    /// <summary>How many values are not finite, and the index of the first (-1 when all are finite).</summary>
    public static (int Count, int First) Count(ReadOnlySpan<float> values)
    {
        int first = -1, count = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) continue;
            if (first < 0) first = i;
            count++;
        }
        return (count, first);
    }

    /// <summary>The text of <see cref="Describe(ReadOnlySpan{float}, int)"/> from counts found piecewise (by K range servers).</summary>
    public static string Describe(int count, int firstIndex, float firstValue, int parameterCount) =>
        $"{count} non-finite values, the first ({firstValue}) at {(firstIndex < parameterCount ? "gradient" : "running statistic")} index {firstIndex}";
}
