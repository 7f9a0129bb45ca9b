namespace Distributed.Observability.Reporting;

/// <summary>
/// Resident memory as the kernel counts it (VmRSS): it includes libtorch's native allocations, which the
/// managed heap figure does not, so a tensor leak shows here first.
/// </summary>
public static class ProcessMemory
{
    public static long ResidentBytes()
    {
        if (!OperatingSystem.IsLinux()) return Environment.WorkingSet;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
            var kilobytes = line.AsSpan(6).Trim().TrimEnd("kB").Trim();
            return long.Parse(kilobytes) * 1024;
        }
        return Environment.WorkingSet;
    }

    /// <summary>
    /// Managed bytes still reachable after a full collection. Without the collection the figure includes
    /// garbage awaiting collection and cannot tell a leak from a lazy GC; one blocking collection per epoch
    /// costs milliseconds.
    /// </summary>
    public static long LiveManagedBytes() => GC.GetTotalMemory(forceFullCollection: true);
}
