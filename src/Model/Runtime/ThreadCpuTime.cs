using System.Runtime.InteropServices;

namespace Distributed.Model.Runtime;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID). A worker computes on one compute thread with one
/// libtorch thread, so the thread's CPU time over a shard is the shard's computation; its wall time also holds the
/// time the thread waited for a core. The two side by side tell a slower computation from a crowded machine, which
/// wall time alone cannot (bench/README.md, "Step-time drift between epochs").
/// </summary>
public static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTime = 3;

    /// <summary>Whether this OS has the clock (Linux); elsewhere <see cref="Milliseconds"/> is NaN.</summary>
    public static bool IsAvailable { get; } = OperatingSystem.IsLinux();

    /// <summary>This thread's CPU time so far, in milliseconds; NaN where the clock is unavailable.</summary>
    public static double Milliseconds()
    {
        if (!IsAvailable || clock_gettime(ClockThreadCpuTime, out var time) != 0) return double.NaN;
        return time.Seconds * 1e3 + time.Nanoseconds * 1e-6;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clock, out TimeSpec time);
}
