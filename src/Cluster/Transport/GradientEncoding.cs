using System.Numerics;
using System.Runtime.InteropServices;
using Distributed.Protocol;

namespace Distributed.Cluster.Transport;

/// <summary>
/// How a result buffer [gradient (parameterCount floats) | running statistics] is laid out on the tensor channel.
/// Uncompressed it goes as it is. With 16-bit compression the gradient is packed two values per wire float
/// (little-endian 16-bit codes, a zero pad after an odd count) and the running statistics follow as plain floats,
/// so the channel itself still moves float arrays and knows nothing of encodings; the handle says which was used.
/// Packing is exact only for values already on the 16-bit grid, which is what a worker configured with the same
/// compression produces (its <c>GradientCompressor</c> rounds with error feedback before the buffer leaves it), so
/// a gradient decodes on the coordinator's node to the very floats the worker computed.
/// </summary>
public static class GradientEncoding
{
    /// <summary>Floats on the wire for a result buffer of <paramref name="stateLength"/> floats whose first <paramref name="parameterCount"/> are the gradient.</summary>
    public static int WireLength(GradientCompression encoding, int stateLength, int parameterCount) => encoding switch
    {
        GradientCompression.None => stateLength,
        GradientCompression.Float16 or GradientCompression.BFloat16 => (parameterCount + 1) / 2 + (stateLength - parameterCount),
        _ => throw new ArgumentException($"gradient encoding {(int)encoding} is not one of: none, fp16, bf16"),
    };

    /// <summary>
    /// Whether a result handle can be decoded into this node's buffers: null when it can, otherwise what is wrong
    /// (a different encoding than the run's, or a packed length that does not fit the model).
    /// </summary>
    public static string? Problem(TensorHandle handle, GradientCompression expected, int stateLength, int parameterCount)
    {
        if (handle.Encoding != expected)
            return $"tensor handle {handle.Id:x16} carries a gradient encoded as {Name(handle.Encoding)}, but this run compresses gradients as {Name(expected)}: refused";
        // Uncompressed, the length is the state length, which TensorHandleCheck checks as it always has.
        if (expected == GradientCompression.None) return null;
        if (parameterCount <= 0 || parameterCount > stateLength)
            return $"tensor handle {handle.Id:x16} is {Name(expected)}-encoded, but the worker reported {parameterCount} parameters for a state of {stateLength}: refused";
        var wire = WireLength(expected, stateLength, parameterCount);
        if (handle.Length != wire)
            return $"tensor handle {handle.Id:x16} announces {handle.Length} floats; this model's result ({stateLength} state values, " +
                $"{parameterCount} of them gradient) in {Name(expected)} has {wire}: refused";
        return null;
    }

    /// <summary>The command-line name of an encoding, for messages.</summary>
    public static string Name(GradientCompression encoding) => encoding switch
    {
        GradientCompression.None => "none",
        GradientCompression.Float16 => "fp16",
        GradientCompression.BFloat16 => "bf16",
        _ => $"unknown ({(int)encoding})",
    };

    /// <summary>Packs <paramref name="buffer"/> for the wire into an array rented from <paramref name="pool"/>; the caller still owns <paramref name="buffer"/>.</summary>
    public static float[] Encode(float[] buffer, int parameterCount, GradientCompression encoding, TensorBufferPool pool)
    {
        if (encoding == GradientCompression.None) throw new ArgumentException("an uncompressed buffer goes on the wire as it is");
        if (parameterCount < 0 || parameterCount > buffer.Length)
            throw new ArgumentException($"{parameterCount} gradient values do not fit a buffer of {buffer.Length}");
        var wire = pool.Rent(WireLength(encoding, buffer.Length, parameterCount));
        var packed = (parameterCount + 1) / 2;
        var codes = MemoryMarshal.Cast<float, ushort>(wire.AsSpan(0, packed));
        var gradient = MemoryMarshal.Cast<float, uint>(buffer.AsSpan(0, parameterCount));
        if (encoding == GradientCompression.Float16) Float16Codes.Encode(gradient, codes);
        else EncodeBFloat16(gradient, codes);
        if (codes.Length > parameterCount) codes[^1] = 0;
        buffer.AsSpan(parameterCount).CopyTo(wire.AsSpan(packed));
        return wire;
    }

    /// <summary>
    /// Unpacks a fetched wire array into a result buffer of <paramref name="stateLength"/> floats rented from
    /// <paramref name="pool"/>; the caller still owns <paramref name="wire"/>.
    /// </summary>
    public static float[] Decode(float[] wire, int stateLength, int parameterCount, GradientCompression encoding, TensorBufferPool pool)
    {
        if (encoding == GradientCompression.None) throw new ArgumentException("an uncompressed buffer needs no decoding");
        if (parameterCount < 0 || parameterCount > stateLength)
            throw new ArgumentException($"{parameterCount} gradient values do not fit a state of {stateLength}");
        var expected = WireLength(encoding, stateLength, parameterCount);
        if (wire.Length != expected)
            throw new ArgumentException($"a {Name(encoding)} result of {stateLength} state values ({parameterCount} gradient) is {expected} wire floats, got {wire.Length}");
        var buffer = pool.Rent(stateLength);
        var packed = (parameterCount + 1) / 2;
        var codes = MemoryMarshal.Cast<float, ushort>(wire.AsSpan(0, packed))[..parameterCount];
        var gradient = MemoryMarshal.Cast<float, uint>(buffer.AsSpan(0, parameterCount));
        if (encoding == GradientCompression.Float16) Float16Codes.Decode(codes, gradient);
        else DecodeBFloat16(codes, gradient);
        wire.AsSpan(packed).CopyTo(buffer.AsSpan(parameterCount));
        return buffer;
    }

    /// <summary>
    /// The wire floats that hold state elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>)
    /// of a result buffer: one contiguous run, since the packed gradient ends exactly where the statistics begin.
    /// <c>Skip</c> is 1 when the range starts on the second code of a wire float (an odd start inside the gradient).
    /// </summary>
    public static (int Start, int Count, int Skip) WireRange(GradientCompression encoding, int stateLength, int parameterCount, int start, int count)
    {
        if (start < 0 || count < 0 || (long)start + count > stateLength)
            throw new ArgumentException($"state range [{start}, {(long)start + count}) does not fit a state of {stateLength}");
        if (encoding == GradientCompression.None) return (start, count, 0);
        if (parameterCount < 0 || parameterCount > stateLength)
            throw new ArgumentException($"{parameterCount} gradient values do not fit a state of {stateLength}");
        var packed = (parameterCount + 1) / 2;
        var end = start + count;
        var wireStart = start < parameterCount ? start / 2 : packed + (start - parameterCount);
        var wireEnd = end <= parameterCount ? (end + 1) / 2 : packed + (end - parameterCount);
        if (count == 0) wireEnd = wireStart;
        return (wireStart, wireEnd - wireStart, start < parameterCount ? start % 2 : 0);
    }

    /// <summary>
    /// Decodes the wire floats of <see cref="WireRange"/> into state elements [<paramref name="start"/>,
    /// <paramref name="start"/> + <paramref name="destination"/>.Length): codes for the gradient part, plain floats after it.
    /// </summary>
    public static void DecodeRange(ReadOnlySpan<float> wire, GradientCompression encoding, int parameterCount, int start, Span<float> destination)
    {
        if (encoding == GradientCompression.None)
        {
            wire[..destination.Length].CopyTo(destination);
            return;
        }
        var gradient = Math.Clamp(parameterCount - start, 0, destination.Length);
        var skip = gradient > 0 ? start % 2 : 0;
        var codeWords = (skip + gradient + 1) / 2;
        if (gradient > 0)
        {
            var codes = MemoryMarshal.Cast<float, ushort>(wire[..codeWords]).Slice(skip, gradient);
            var bits = MemoryMarshal.Cast<float, uint>(destination[..gradient]);
            if (encoding == GradientCompression.Float16) Float16Codes.Decode(codes, bits);
            else DecodeBFloat16(codes, bits);
        }
        wire.Slice(codeWords, destination.Length - gradient).CopyTo(destination[gradient..]);
    }

    /// <summary>bfloat16 is the float's upper half: a shift and a narrowing, exact for values on the bf16 grid.</summary>
    private static void EncodeBFloat16(ReadOnlySpan<uint> bits, Span<ushort> codes)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var step = Vector<uint>.Count * 2;
            for (; i <= bits.Length - step; i += step)
            {
                var low = Vector.ShiftRightLogical(new Vector<uint>(bits[i..]), 16);
                var high = Vector.ShiftRightLogical(new Vector<uint>(bits[(i + Vector<uint>.Count)..]), 16);
                Vector.Narrow(low, high).CopyTo(codes[i..]);
            }
        }
        for (; i < bits.Length; i++) codes[i] = (ushort)(bits[i] >> 16);
    }

    private static void DecodeBFloat16(ReadOnlySpan<ushort> codes, Span<uint> bits)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var step = Vector<ushort>.Count;
            for (; i <= codes.Length - step; i += step)
            {
                Vector.Widen(new Vector<ushort>(codes[i..]), out var low, out var high);
                Vector.ShiftLeft(low, 16).CopyTo(bits[i..]);
                Vector.ShiftLeft(high, 16).CopyTo(bits[(i + Vector<uint>.Count)..]);
            }
        }
        for (; i < codes.Length; i++) bits[i] = (uint)codes[i] << 16;
    }
}
