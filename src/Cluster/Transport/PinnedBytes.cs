using System.Buffers;
using System.Runtime.InteropServices;

namespace Distributed.Cluster.Transport;

/// <summary>
/// The bytes of a float array as <see cref="Memory{T}"/>, pinned for the lifetime of this object, so async
/// socket and TLS I/O read and write the array in place: no staging buffer, no copy.
/// </summary>
internal sealed unsafe class PinnedBytes : MemoryManager<byte>
{
    private readonly float[] _array;
    private GCHandle _handle;

    public PinnedBytes(float[] array)
    {
        if ((long)array.Length * sizeof(float) > int.MaxValue)
            throw new ArgumentException($"a tensor of {array.Length} floats exceeds the 2 GiB a single transfer can carry");
        _array = array;
        _handle = GCHandle.Alloc(array, GCHandleType.Pinned);
    }

    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(_array.AsSpan());

    public override MemoryHandle Pin(int elementIndex = 0) =>
        new((byte*)_handle.AddrOfPinnedObject() + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (_handle.IsAllocated) _handle.Free();
    }
}
