using System.Numerics;
using Distributed.Protocol;

namespace Distributed.Worker;

/// <summary>
/// One worker's gradient compression with error feedback (Seide et al. 2014; Karimireddy et al. 2019). For each
/// gradient g it sends c = round16(g + r) and keeps r = (g + r) − c, so what rounding drops from one step is sent
/// with the next: over any run of steps the sum of what was sent differs from the sum of the true gradients by one
/// rounding step (the current residual), not by the accumulated rounding of every step. Small gradient components
/// that a 16-bit format would flush to zero step after step still reach the parameter server once they accumulate.
/// Values are rounded to the 16-bit grid but kept as floats: in one process they go to the parameter server as
/// they are, and between nodes they pack into 16 bits without further loss, so both modes compute the same numbers.
/// Pure: no actors, no TorchSharp; runs on the worker's compute thread once per training shard.
/// </summary>
public sealed class GradientCompressor
{
    /// <summary>Largest finite IEEE half: finite sums beyond it are clamped here rather than sent as infinity.</summary>
    public const float MaxFloat16 = 65504f;

    /// <summary>Largest finite bfloat16 (0x7F7F): a float that would round up past it is clamped here.</summary>
    public static readonly float MaxBFloat16 = BitConverter.UInt32BitsToSingle(0x7F7F_0000);

    /// <summary>Half's smallest normal value; below it the half grid is a fixed step of 2^-24.</summary>
    private const float SmallestNormalFloat16 = 6.103515625e-05f; // 2^-14

    /// <summary>0.75 has a float ulp of 2^-24, so (x + 0.75) − 0.75 rounds any |x| &lt; 2^-14 to half's subnormal grid, to nearest even.</summary>
    private const float SubnormalRounder = 0.75f;

    private readonly float[] _residual;

    public GradientCompressor(GradientCompression compression, int parameterCount)
    {
        if (!Enum.IsDefined(compression)) throw new ArgumentException($"gradient compression {(int)compression} is not one of: none, fp16, bf16");
        ArgumentOutOfRangeException.ThrowIfNegative(parameterCount);
        Compression = compression;
        _residual = new float[compression == GradientCompression.None ? 0 : parameterCount];
        ParameterCount = parameterCount;
    }

    public GradientCompression Compression { get; }
    public int ParameterCount { get; }

    /// <summary>What rounding has dropped and not yet sent; all zeros without compression.</summary>
    public ReadOnlySpan<float> Residual => _residual;

    /// <summary>Writes the value to send for <paramref name="gradient"/> into <paramref name="sent"/> and keeps the rounding error.</summary>
    /// <remarks>
    /// A non-finite sum (NaN, ±infinity) is sent as it is, so the parameter server sees it and refuses the shard,
    /// and its residual is reset to 0: inf − inf would be NaN and poison every later gradient of this worker.
    /// Finite sums beyond fp16's range are clamped to ±65504 (never infinity); the excess stays in the residual and
    /// goes out over the next steps. A gradient that large means the run is diverging anyway, and refusing it
    /// would only move the same shard from worker to worker until the attempt bound fails the run.
    /// </remarks>
    public void Compress(ReadOnlySpan<float> gradient, Span<float> sent)
    {
        if (gradient.Length != ParameterCount || sent.Length != ParameterCount)
            throw new ArgumentException($"gradient of {gradient.Length} and output of {sent.Length} values, the compressor was built for {ParameterCount} parameters");
        if (Compression == GradientCompression.None)
        {
            gradient.CopyTo(sent);
            return;
        }
        var residual = _residual.AsSpan();
        var float16 = Compression == GradientCompression.Float16;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var infinity = new Vector<float>(float.PositiveInfinity);
            for (; i <= gradient.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var target = new Vector<float>(gradient[i..]) + new Vector<float>(residual[i..]);
                var rounded = float16 ? RoundToFloat16(target) : RoundToBFloat16(target);
                var finite = Vector.LessThan(Vector.Abs(target), infinity);
                Vector.ConditionalSelect(finite, rounded, target).CopyTo(sent[i..]);
                Vector.ConditionalSelect(finite, target - rounded, Vector<float>.Zero).CopyTo(residual[i..]);
            }
        }
        for (; i < gradient.Length; i++)
        {
            var target = gradient[i] + residual[i];
            var rounded = float16 ? RoundToFloat16(target) : RoundToBFloat16(target);
            sent[i] = rounded;
            residual[i] = float.IsFinite(target) ? target - rounded : 0f;
        }
    }

    /// <summary>The nearest IEEE half (ties to even), as a float; finite values beyond ±65504 clamp there; NaN and infinity pass.</summary>
    public static float RoundToFloat16(float value) =>
        float.IsFinite(value) ? Math.Clamp((float)(Half)value, -MaxFloat16, MaxFloat16) : value;

    /// <summary>The nearest bfloat16 (the float's upper 16 bits, ties to even), as a float; finite values never round to infinity; NaN and infinity pass.</summary>
    public static float RoundToBFloat16(float value)
    {
        if (!float.IsFinite(value)) return value;
        var bits = BitConverter.SingleToUInt32Bits(value);
        bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF_0000u;
        return Math.Clamp(BitConverter.UInt32BitsToSingle(bits), -MaxBFloat16, MaxBFloat16);
    }

    /// <summary>
    /// <see cref="RoundToFloat16(float)"/> for finite lanes (others are replaced by the caller). Normal half values:
    /// the float's mantissa rounded to 10 bits by the bias trick (a carry moves into the exponent, as it should);
    /// below 2^-14 the FPU rounds to the fixed 2^-24 grid. Tiny negatives round to +0 here and −0 in the scalar
    /// path: equal values.
    /// </summary>
    private static Vector<float> RoundToFloat16(Vector<float> x)
    {
        var bits = Vector.AsVectorUInt32(x);
        var lsb = Vector.ShiftRightLogical(bits, 13) & Vector<uint>.One;
        var normal = Vector.AsVectorSingle((bits + new Vector<uint>(0x0FFFu) + lsb) & new Vector<uint>(0xFFFF_E000u));
        var rounder = new Vector<float>(SubnormalRounder);
        var subnormal = (x + rounder) - rounder;
        var rounded = Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(x), new Vector<float>(SmallestNormalFloat16)), subnormal, normal);
        return Vector.Min(Vector.Max(rounded, new Vector<float>(-MaxFloat16)), new Vector<float>(MaxFloat16));
    }

    /// <summary><see cref="RoundToBFloat16(float)"/> for finite lanes: round to nearest even at bit 16, then clamp.</summary>
    private static Vector<float> RoundToBFloat16(Vector<float> x)
    {
        var bits = Vector.AsVectorUInt32(x);
        var lsb = Vector.ShiftRightLogical(bits, 16) & Vector<uint>.One;
        var rounded = Vector.AsVectorSingle((bits + new Vector<uint>(0x7FFFu) + lsb) & new Vector<uint>(0xFFFF_0000u));
        var max = new Vector<float>(MaxBFloat16);
        return Vector.Min(Vector.Max(rounded, -max), max);
    }
}
