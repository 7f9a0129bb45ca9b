using Xunit.Abstractions;

namespace Distributed.Tests.Cluster;

/// <summary>
/// The node processes a cluster test started, in a scratch directory of its own: on dispose every process still
/// running is killed (its last output goes to the test log, to show where it stood) and the directory is removed.
/// </summary>
public sealed class ProcessGroup(string prefix, ITestOutputHelper output) : IDisposable
{
    private readonly List<NodeProcess> _processes = new();

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory(prefix).FullName;

    public NodeProcess Add(NodeProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited) output.WriteLine($"--- {process.Name} (killed at cleanup)\n{process.Tail(30)}");
            process.Dispose();
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
