using System.Runtime.InteropServices;
using TorchSharp;

namespace Distributed.Model.Runtime;

/// <summary>
/// Process-wide native settings every process that trains needs before its first tensor.
/// glibc's dynamic mmap threshold makes libtorch unmap and re-fault (kernel-zeroed) its large activation
/// buffers every step, costing TorchSharp 30-50% of its throughput here (shared/perf-notes.md section 1);
/// fixing both the mmap and the trim thresholds removes that.
/// </summary>
public static partial class TorchRuntime
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapThreshold = -3;
    private static int _initialized;

    public static bool MallocTuned { get; private set; }

    public static void Initialize()
    {
        if (Interlocked.Exchange(ref _initialized, 1) == 1) return;
        if (OperatingSystem.IsLinux())
        {
            try
            {
                MallocTuned = mallopt(MallocMmapThreshold, 8 << 20) == 1 & mallopt(MallocTrimThreshold, 256 << 20) == 1;
            }
            catch (EntryPointNotFoundException)
            {
                // Not glibc (e.g. musl in an Alpine image): nothing to tune.
            }
        }
    }

    /// <summary>
    /// OpenMP thread counts are per calling thread, so each compute thread sets its own
    /// (shared/perf-notes.md section 2).
    /// </summary>
    public static void UseThreadsOnThisThread(int threads)
    {
        Initialize();
        torch.set_num_threads(threads);
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);
}
