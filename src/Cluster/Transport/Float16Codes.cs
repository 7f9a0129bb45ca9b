using System.Numerics;

namespace Distributed.Cluster.Transport;

/// <summary>
/// IEEE half codes for floats that already lie on the half grid (the worker rounded them), in vector lanes: with no
/// rounding left to do, conversion is a rebias of the exponent and a shift, or for half's subnormals an exact
/// multiply by 2^24. Matches <see cref="Half"/>'s conversions for every such value (tests check all 65536 codes);
/// NaN stays a (quiet) NaN and infinities stay infinities, so the parameter server still sees and refuses them.
/// </summary>
internal static class Float16Codes
{
    private const uint ExponentRebias = 112u << 23;    // float bias 127 − half bias 15, in the float's exponent field
    private const uint SmallestNormal = 0x3880_0000u;  // 2^-14 as float bits
    private const uint Infinity = 0x7F80_0000u;
    private const uint LargestHalf = 0x477F_E000u;     // 65504: finite values off the grid must not spill into the exponent
    private const float TwoToThe24 = 16_777_216f;

    public static void Encode(ReadOnlySpan<uint> bits, Span<ushort> codes)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var step = Vector<uint>.Count * 2;
            for (; i <= bits.Length - step; i += step)
            {
                var low = Encode(new Vector<uint>(bits[i..]));
                var high = Encode(new Vector<uint>(bits[(i + Vector<uint>.Count)..]));
                Vector.Narrow(low, high).CopyTo(codes[i..]);
            }
        }
        for (; i < bits.Length; i++) codes[i] = Encode(bits[i]);
    }

    public static void Decode(ReadOnlySpan<ushort> codes, Span<uint> bits)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var step = Vector<ushort>.Count;
            for (; i <= codes.Length - step; i += step)
            {
                Vector.Widen(new Vector<ushort>(codes[i..]), out var low, out var high);
                Decode(low).CopyTo(bits[i..]);
                Decode(high).CopyTo(bits[(i + Vector<uint>.Count)..]);
            }
        }
        for (; i < codes.Length; i++) bits[i] = Decode(codes[i]);
    }

    public static ushort Encode(uint bits)
    {
        var sign = (bits >> 16) & 0x8000u;
        var magnitude = bits & 0x7FFF_FFFFu;
        uint code;
        if (magnitude >= Infinity) code = magnitude == Infinity ? 0x7C00u : 0x7E00u;
        else if (magnitude >= SmallestNormal) code = (Math.Min(magnitude, LargestHalf) - ExponentRebias) >> 13;
        else code = (uint)(BitConverter.UInt32BitsToSingle(magnitude) * TwoToThe24);
        return (ushort)(sign | code);
    }

    public static uint Decode(ushort code)
    {
        var sign = (uint)(code & 0x8000) << 16;
        var magnitude = (uint)(code & 0x7FFF);
        uint bits;
        if (magnitude >= 0x7C00u) bits = Infinity | ((magnitude & 0x3FFu) << 13);
        else if (magnitude >= 0x0400u) bits = (magnitude << 13) + ExponentRebias;
        else bits = BitConverter.SingleToUInt32Bits(magnitude / TwoToThe24);
        return sign | bits;
    }

    private static Vector<uint> Encode(Vector<uint> bits)
    {
        var sign = Vector.ShiftRightLogical(bits, 16) & new Vector<uint>(0x8000u);
        var magnitude = bits & new Vector<uint>(0x7FFF_FFFFu);
        var infinity = new Vector<uint>(Infinity);
        var normal = Vector.ShiftRightLogical(Vector.Min(magnitude, new Vector<uint>(LargestHalf)) - new Vector<uint>(ExponentRebias), 13);
        var subnormal = Vector.ConvertToUInt32(Vector.AsVectorSingle(magnitude) * new Vector<float>(TwoToThe24));
        var special = Vector.ConditionalSelect(Vector.Equals(magnitude, infinity), new Vector<uint>(0x7C00u), new Vector<uint>(0x7E00u));
        var code = Vector.ConditionalSelect(Vector.LessThan(magnitude, new Vector<uint>(SmallestNormal)), subnormal, normal);
        code = Vector.ConditionalSelect(Vector.LessThan(magnitude, infinity), code, special);
        return sign | code;
    }

    private static Vector<uint> Decode(Vector<uint> code)
    {
        var sign = Vector.ShiftLeft(code & new Vector<uint>(0x8000u), 16);
        var magnitude = code & new Vector<uint>(0x7FFFu);
        var normal = Vector.ShiftLeft(magnitude, 13) + new Vector<uint>(ExponentRebias);
        var subnormal = Vector.AsVectorUInt32(Vector.ConvertToSingle(magnitude) / new Vector<float>(TwoToThe24));
        var special = new Vector<uint>(Infinity) | Vector.ShiftLeft(magnitude & new Vector<uint>(0x3FFu), 13);
        var bits = Vector.ConditionalSelect(Vector.LessThan(magnitude, new Vector<uint>(0x0400u)), subnormal, normal);
        bits = Vector.ConditionalSelect(Vector.LessThan(magnitude, new Vector<uint>(0x7C00u)), bits, special);
        return sign | bits;
    }
}
