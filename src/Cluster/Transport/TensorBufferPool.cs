namespace Distributed.Cluster.Transport;

/// <summary>
/// Recycles the megabyte float arrays that carry gradients (and, on worker nodes, received weights) from one
/// step to the next. A fresh array of that size is far from free on a VM: its pages fault in on first touch,
/// measured 3.5–4 ms to receive 1.1 MB into a new array against 0.3 ms into a reused one, and every step needs
/// several. Arrays are kept by exact length because every consumer checks a buffer's length against the model's.
/// Returning an array promises that nothing reads or writes it any more; an array never returned is simply
/// collected, so a path that cannot prove it is done with a buffer just keeps it.
/// </summary>
public sealed class TensorBufferPool
{
    private readonly object _gate = new();
    private readonly Dictionary<int, Stack<float[]>> _free = new();
    // Identity set: returning an array twice must not let two renters share it.
    private readonly HashSet<float[]> _pooled = new(ReferenceEqualityComparer.Instance);
    private readonly long _maxRetainedBytes;
    private readonly int _maxPerLength;
    private long _retainedBytes;

    /// <param name="maxRetainedBytes">Total size of idle arrays kept; beyond it, returned arrays are left to the collector.</param>
    /// <param name="maxPerLength">Idle arrays kept per length: a step needs a few per worker, not hundreds.</param>
    public TensorBufferPool(long maxRetainedBytes, int maxPerLength = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetainedBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPerLength);
        _maxRetainedBytes = maxRetainedBytes;
        _maxPerLength = maxPerLength;
    }

    /// <summary>The process-wide pool shared by workers, the tensor channel and the parameter server.</summary>
    public static TensorBufferPool Shared { get; } = new(maxRetainedBytes: 512L << 20);

    /// <summary>Idle arrays held right now, in bytes.</summary>
    public long RetainedBytes
    {
        get
        {
            lock (_gate) return _retainedBytes;
        }
    }

    /// <summary>An array of exactly <paramref name="length"/> floats with arbitrary contents: the caller overwrites all of it.</summary>
    public float[] Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        lock (_gate)
        {
            if (_free.TryGetValue(length, out var stack) && stack.TryPop(out var reused))
            {
                _pooled.Remove(reused);
                _retainedBytes -= SizeOf(reused);
                return reused;
            }
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Hands <paramref name="buffer"/> back for reuse. Returning an array already in the pool does nothing.</summary>
    public void Return(float[] buffer)
    {
        var size = SizeOf(buffer);
        lock (_gate)
        {
            if (_pooled.Contains(buffer) || _retainedBytes + size > _maxRetainedBytes) return;
            if (!_free.TryGetValue(buffer.Length, out var stack)) _free[buffer.Length] = stack = new Stack<float[]>();
            if (stack.Count >= _maxPerLength) return;
            stack.Push(buffer);
            _pooled.Add(buffer);
            _retainedBytes += size;
        }
    }

    private static long SizeOf(float[] buffer) => (long)buffer.Length * sizeof(float);
}
