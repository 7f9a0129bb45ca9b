using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A real `distributed` or `distributed-worker` process (optionally inside a network namespace) whose output the
/// test reads line by line. Disposing kills it if it still runs, so no test leaves a process behind.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = new();
    private readonly object _gate = new();

    private NodeProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    public static NodeProcess Start(string name, string dll, IEnumerable<string> arguments, string workingDirectory,
        string? networkNamespace = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        if (networkNamespace is not null)
        {
            // `ip netns exec` execs dotnet in place: the PID stays the same, so killing it kills the node.
            foreach (var part in new[] { "netns", "exec", networkNamespace, "dotnet" }) start.ArgumentList.Add(part);
        }
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("DISTRIBUTED_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        if (environment is not null)
        {
            foreach (var (key, value) in environment) start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var node = new NodeProcess(name, process);
        process.OutputDataReceived += (_, e) => node.Append(e.Data);
        process.ErrorDataReceived += (_, e) => node.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate) _lines.Add(line);
    }

    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) return _lines.ToList(); }
    }

    public string Output => string.Join('\n', Lines);

    /// <summary>Waits for an output line that matches; fails with the process's output if it exits or the time runs out first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what, int skip = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = Lines.Where(match).Skip(skip).FirstOrDefault();
            if (found is not null) return found;
            if (_process.HasExited && Lines.Where(match).Skip(skip).FirstOrDefault() is null)
                throw new Xunit.Sdk.XunitException($"{Name} exited (code {_process.ExitCode}) before {what}. Output:\n{Tail()}");
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"{Name}: no {what} within {timeout.TotalSeconds:0} s. Output:\n{Tail()}");
            await Task.Delay(100);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"{Name} did not exit within {timeout.TotalSeconds:0} s. Output:\n{Tail()}");
        }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no goodbye to the cluster, no flushed sockets.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM, the polite stop.</summary>
    public void Terminate()
    {
        if (!_process.HasExited) Posix.Kill(_process.Id, 15);
    }

    public string Tail(int lines = 60) => string.Join('\n', Lines.TakeLast(lines));

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // never started
        }
        _process.Dispose();
    }

    public static int FreePort(string host = "127.0.0.1")
    {
        using var listener = new TcpListener(IPAddress.Parse(host), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal static class Posix
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int KillNative(int pid, int signal);

    public static void Kill(int pid, int signal) => KillNative(pid, signal);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    public static extern uint EffectiveUserId();
}

/// <summary>Where the built executables are: the same configuration as this test assembly.</summary>
public static class BuildOutput
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Distributed.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException($"no Distributed.sln above {AppContext.BaseDirectory}");
    });

    /// <summary>Debug or Release: the folder above this assembly's net10.0 folder.</summary>
    private static string Configuration =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public static string RepositoryRoot => Root.Value;

    public static string Coordinator => Find("src/Cli", "distributed.dll");
    public static string Worker => Find("src/Worker", "distributed-worker.dll");

    private static string Find(string project, string file)
    {
        var path = Path.Combine(Root.Value, project, "bin", Configuration, "net10.0", file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution first", path);
    }
}

/// <summary>Reads metrics.jsonl while the coordinator is still appending to it.</summary>
public static class Metrics
{
    public static IReadOnlyList<long> Steps(string directory)
    {
        var path = Path.Combine(directory, "metrics.jsonl");
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var steps = new List<long>();
        while (reader.ReadLine() is { } line)
        {
            if (!line.EndsWith('}')) continue; // a line still being written
            using var row = System.Text.Json.JsonDocument.Parse(line);
            if (row.RootElement.GetProperty("type").GetString() == "step") steps.Add(row.RootElement.GetProperty("step").GetInt64());
        }
        return steps;
    }

    /// <summary>Each finished epoch's sample ledger from metrics.jsonl: (applied, duplicated, dropped).</summary>
    public static IReadOnlyList<(long Applied, long Duplicated, long Dropped)> Ledgers(string directory)
    {
        var ledgers = new List<(long, long, long)>();
        foreach (var line in File.ReadLines(Path.Combine(directory, "metrics.jsonl")))
        {
            using var row = System.Text.Json.JsonDocument.Parse(line);
            var root = row.RootElement;
            if (root.GetProperty("type").GetString() != "epoch" || !root.TryGetProperty("samples_applied", out var applied)
                || applied.ValueKind == System.Text.Json.JsonValueKind.Null) continue;
            ledgers.Add((applied.GetInt64(), root.GetProperty("samples_duplicated").GetInt64(), root.GetProperty("samples_dropped").GetInt64()));
        }
        return ledgers;
    }

    public static long LastStep(string directory) => Steps(directory) is { Count: > 0 } steps ? steps.Max() : -1;

    public static async Task WaitForStepAsync(string directory, long step, TimeSpan timeout, NodeProcess coordinator)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (LastStep(directory) < step)
        {
            if (coordinator.HasExited)
                throw new Xunit.Sdk.XunitException($"the coordinator exited before step {step}. Output:\n{coordinator.Tail()}");
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"step {step} not reached within {timeout.TotalSeconds:0} s (at {LastStep(directory)}). Output:\n{coordinator.Tail()}");
            await Task.Delay(100);
        }
    }
}
