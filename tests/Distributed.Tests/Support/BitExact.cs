using System.Runtime.InteropServices;

namespace Distributed.Tests.Support;

/// <summary>Float arrays compared bit for bit (Assert.Equal would take -0 for 0), naming the first difference.</summary>
public static class BitExact
{
    public static void Equal(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        var expectedBits = MemoryMarshal.Cast<float, int>(expected);
        var actualBits = MemoryMarshal.Cast<float, int>(actual);
        int first = -1, differing = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            if (expectedBits[i] == actualBits[i]) continue;
            if (first < 0) first = i;
            differing++;
        }
        if (first >= 0)
            Assert.Fail($"{what}: {differing} of {expected.Length} values differ, the first at index {first}: {actual[first]:R}, expected {expected[first]:R}");
    }
}
