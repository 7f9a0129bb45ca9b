using System.CommandLine;
using System.Text;
using Distributed.Experiments;
using Distributed.Cli.Commands;

namespace Distributed.Tests.Experiments;

/// <summary>Runs an experiment command the way Program.cs will, into a fresh temporary directory.</summary>
public sealed class ExperimentRun : IDisposable
{
    public string Directory { get; }
    public int ExitCode { get; }
    public string Output { get; }

    public ExperimentRun(params string[] arguments)
    {
        Directory = Path.Combine(Path.GetTempPath(), "experiment-tests-" + Guid.NewGuid().ToString("N"));
        (ExitCode, Output) = Invoke([.. arguments, "--output", Directory]);
    }

    public static (int ExitCode, string Output) Invoke(params string[] arguments)
    {
        var root = new RootCommand("test host") { ExperimentCommands.Create() };
        var output = new StringWriter(new StringBuilder());
        var exitCode = root.Parse(arguments).Invoke(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }

    public string PathOf(string file) => Path.Combine(Directory, file);

    /// <summary>Rows of a CSV written by the reports, keyed by header; quoted fields only ever come last.</summary>
    public List<Dictionary<string, string>> ReadCsv(string file)
    {
        var lines = File.ReadAllLines(PathOf(file));
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(line =>
        {
            var cells = line.Split(',', header.Length);
            return header.Zip(cells).ToDictionary(p => p.First, p => p.Second);
        }).ToList();
    }

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
    }
}
