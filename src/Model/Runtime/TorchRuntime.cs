using System.Runtime.InteropServices;
using TorchSharp;

namespace Distributed.Model.Runtime;

/// <summary>
/// Process-wide native settings every process that trains needs before its first tensor.
/// glibc's dynamic mmap threshold makes libtorch unmap and re-fault (kernel-zeroed) its large activation
/// buffers every step, costing TorchSharp 30-50% of its throughput here (bench/README.md, platform fact 1);
/// fixing both the mmap and the trim thresholds removes that.
/// That alone only helps the main thread: every other thread allocates from its own glibc arena, made of
/// 64 MiB heaps that glibc deletes whenever one falls empty (it does, every step), so the same pages were
/// unmapped and zero-faulted again on the compute threads, where all training runs: 25-35% slower than the
/// same loop on the main thread (measured with a bare loop, 1 and 2 libtorch threads). A 64 MiB top pad keeps
/// those heaps mapped.
/// </summary>
public static partial class TorchRuntime
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapThreshold = -3;
    private const int MallocTopPad = -2;
    private static int _initialized;

    public static bool MallocTuned { get; private set; }

    public static void Initialize()
    {
        if (Interlocked.Exchange(ref _initialized, 1) == 1) return;
        if (OperatingSystem.IsLinux())
        {
            try
            {
                MallocTuned = mallopt(MallocMmapThreshold, 8 << 20) == 1
                    & mallopt(MallocTrimThreshold, 256 << 20) == 1
                    & mallopt(MallocTopPad, 64 << 20) == 1;
            }
            catch (EntryPointNotFoundException)
            {
                // Not glibc (e.g. musl in an Alpine image): nothing to tune.
            }
        }
    }

    /// <summary>
    /// OpenMP thread counts are per calling thread, so each compute thread sets its own
    /// (bench/README.md, platform fact 2).
    /// </summary>
    public static void UseThreadsOnThisThread(int threads)
    {
        Initialize();
        torch.set_num_threads(threads);
    }

    /// <summary>
    /// Sets flush-to-zero and denormals-are-zero on the calling thread through libtorch's own
    /// torch.set_flush_denormal (at::Context::setFlushDenormal, which TorchSharp 0.107 does not bind); the setting is
    /// per thread (MXCSR), so each compute thread calls it. Returns false when libtorch lacks the entry points.
    /// </summary>
    public static unsafe bool FlushDenormalsOnThisThread()
    {
        Initialize();
        using (torch.zeros(1)) { } // loads libtorch
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var library)
            || !NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var globalContext)
            || !NativeLibrary.TryGetExport(library, "_ZN2at7Context16setFlushDenormalEb", out var setFlushDenormal))
            return false;
        var context = ((delegate* unmanaged<nint>)globalContext)();
        return ((delegate* unmanaged<nint, byte, byte>)setFlushDenormal)(context, 1) != 0;
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);
}
