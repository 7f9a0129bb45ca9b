namespace Distributed.Model.Data;

/// <summary>
/// SplitMix64-style mixing. Every random draw in this layer is a pure function of its coordinates
/// (seed, epoch, sample, ...), so any worker reproduces any sample without sharing generator state.
/// </summary>
internal static class StatelessHash
{
    public const ulong Golden = 0x9E3779B97F4A7C15;

    /// <summary>The SplitMix64 finalizer: a bijection whose output bits each depend on all input bits.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    public static ulong Hash(long a, long b, long c)
    {
        ulong h = Mix((ulong)a + Golden);
        h = Mix(h ^ ((ulong)b + Golden));
        return Mix(h ^ ((ulong)c + Golden));
    }

    /// <summary>Uniform in [0, n) from 32 random bits (Lemire's multiply-shift; bias below n/2^32).</summary>
    public static int Below(uint bits, int n) => (int)(((ulong)bits * (uint)n) >> 32);

    /// <summary>Uniform in [0, 1) from the top 53 bits.</summary>
    public static double Unit(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));
}
