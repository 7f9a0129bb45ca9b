using System.Buffers.Binary;

namespace Distributed.Model.Data;

/// <summary>
/// Reads IDX files (the MNIST family's format: big-endian magic 0x0000TTNN with type TT and NN dimensions,
/// NN big-endian uint32 sizes, then the data) holding unsigned bytes, gzip-compressed or raw.
/// </summary>
public static class IdxReader
{
    private const byte UnsignedByteType = 0x08;

    /// <summary>
    /// Reads an IDX file of unsigned bytes with exactly <paramref name="expectedDimensions"/> dimensions.
    /// Throws <see cref="DatasetFormatException"/> naming the file for anything missing, short, long or malformed.
    /// </summary>
    public static (int[] Dimensions, byte[] Data) ReadUnsignedBytes(string path, int expectedDimensions)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(expectedDimensions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(expectedDimensions, 255);

        using var source = DatasetSource.Open(path);
        int headerLength = 4 + 4 * expectedDimensions;
        Span<byte> header = stackalloc byte[headerLength];

        int magicRead = source.ReadUpTo(header[..4]);
        if (magicRead == 0)
        {
            throw source.Fail($"file is empty{source.SizeQualifier}");
        }

        if (magicRead < 4)
        {
            throw source.Fail($"truncated header: expected {headerLength} bytes, got {magicRead}{source.SizeQualifier}");
        }

        uint expectedMagic = ((uint)UnsignedByteType << 8) | (uint)expectedDimensions;
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != expectedMagic)
        {
            throw source.Fail(
                $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} ({Describe(expectedDimensions)})");
        }

        int sizesRead = source.ReadUpTo(header[4..]);
        if (sizesRead < headerLength - 4)
        {
            throw source.Fail(
                $"truncated header: expected {headerLength} bytes, got {4 + sizesRead}{source.SizeQualifier}");
        }

        var dimensions = new int[expectedDimensions];
        long payloadLength = 1;
        for (int i = 0; i < expectedDimensions; i++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(header[(4 + 4 * i)..]);
            if (size > int.MaxValue)
            {
                throw source.Fail($"dimension {i} has implausible size {size}");
            }

            dimensions[i] = (int)size;
            payloadLength *= size;
            if (payloadLength > Array.MaxLength)
            {
                throw source.Fail(
                    $"header dimensions {string.Join("x", dimensions[..(i + 1)])} describe more data than fits in memory");
            }
        }

        string shape = string.Join("x", dimensions);

        // For raw files the size is known up front: complain before allocating what a bad header asks for.
        if (!source.IsCompressed && source.FileLength != headerLength + payloadLength)
        {
            long actual = source.FileLength - headerLength;
            throw source.Fail(actual < payloadLength
                ? $"truncated: header says {shape} = {payloadLength} data bytes, file holds {actual}"
                : $"file is longer than its header says: header says {shape} = {payloadLength} data bytes, "
                  + $"file holds {actual}");
        }

        var data = GC.AllocateUninitializedArray<byte>((int)payloadLength);
        int read = source.ReadUpTo(data);
        if (read < payloadLength)
        {
            throw source.Fail(
                $"truncated: header says {shape} = {payloadLength} data bytes, file holds {read}{source.SizeQualifier}");
        }

        long extra = source.CountRemainingBytes();
        if (extra > 0)
        {
            throw source.Fail(
                $"file is longer than its header says: header says {shape} = {payloadLength} data bytes, "
                + $"file holds {payloadLength + extra}{source.SizeQualifier}");
        }

        return (dimensions, data);
    }

    private static string Describe(int dimensions) => dimensions switch
    {
        1 => "IDX1 unsigned-byte labels",
        3 => "IDX3 unsigned-byte images",
        _ => $"IDX{dimensions} unsigned-byte data",
    };
}
