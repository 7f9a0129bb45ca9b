using System.Runtime.InteropServices;

namespace Distributed.Training.Checkpoints;

/// <summary>
/// fsync on a directory, so that a rename that put a checkpoint in place survives a power loss: flushing the file
/// makes its bytes durable, but the new directory entry is only durable once the directory itself is synced. .NET has
/// no API for it, so on Linux and macOS this calls open/fsync/close; elsewhere it does nothing.
/// </summary>
internal static partial class DirectorySync
{
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>A hard link (no copy): checkpoint-{step}.bin and checkpoint.bin share one file. False when the file system cannot.</summary>
    public static bool TryHardLink(string existing, string link) =>
        (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && Link(existing, link) == 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string link);
}
