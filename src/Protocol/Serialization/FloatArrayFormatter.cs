using System.Buffers;
using System.Runtime.InteropServices;
using MessagePack;
using MessagePack.Formatters;

namespace Distributed.Protocol.Serialization;

/// <summary>
/// Writes float arrays as one binary blob (little-endian IEEE 754) instead of MessagePack's per-element
/// encoding: gradients and weights are megabytes, and this makes them a single memory copy each way.
/// </summary>
public sealed class FloatArrayFormatter : IMessagePackFormatter<float[]?>
{
    public void Serialize(ref MessagePackWriter writer, float[]? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        writer.Write(MemoryMarshal.AsBytes(value.AsSpan()));
    }

    public float[]? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil()) return null;
        var bytes = reader.ReadBytes() ?? throw new MessagePackSerializationException("float array: expected binary data");
        if (bytes.Length % sizeof(float) != 0)
            throw new MessagePackSerializationException($"float array: {bytes.Length} bytes is not a whole number of floats");
        var result = GC.AllocateUninitializedArray<float>((int)(bytes.Length / sizeof(float)));
        bytes.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }
}
