using System.CommandLine;
using Distributed.Cli.Commands;
using Distributed.Simulation;

namespace Distributed.Tests.Simulation;

public sealed class SimulateCommandTests
{
    private static (int ExitCode, string Output) Invoke(string arguments)
    {
        var output = new StringWriter();
        var exitCode = new RootCommand { SimulateCommand.Create() }.Parse("simulate " + arguments).Invoke(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }

    [Theory]
    [InlineData("--workers 1025", "--workers 1025 must be between 1 and 1024")]
    [InlineData("--workers 4,x", "--workers '4,x': 'x' is not a whole number")]
    [InlineData("--ps-shards 4 --path coordinator", "--path coordinator has one parameter server")]
    [InlineData("--path sideways", "--path 'sideways' must be auto, coordinator or direct")]
    [InlineData("--bandwidth-gbps 0", "--bandwidth-gbps 0 must be a positive finite number")]
    [InlineData("--workers 8 --backup-workers 8", "--backup-workers 8 must be at least 0 and less than --workers 8")]
    [InlineData("--slowdowns 4", "--slowdowns '4' must be F@P")]
    [InlineData("--slowdowns 4@x", "--slowdowns '4@x' must be F@P")]
    [InlineData("--slowdowns 0.5@0.1", "--slowdowns 0.5@0.1: the factor F must be a finite number >= 1")]
    [InlineData("--slowdowns 2@1.5", "--slowdowns 2@1.5: the probability P must be between 0 and 1")]
    [InlineData("--jitter 3", "--jitter 3 must be a number between 0 and 2")]
    [InlineData("--remedies sync,fast", "--remedies 'sync,fast': 'fast' is not sync, speculate, backup=B or stale=S")]
    [InlineData("--remedies backup=x", "--remedies 'backup=x': 'backup=x' is not sync, speculate, backup=B or stale=S")]
    [InlineData("--remedies sync --backup-workers 2", "--remedies names the remedies of each run: give it without --no-speculate, --backup-workers and --staleness")]
    [InlineData("--staleness 65", "--staleness 65 must be between 0 (synchronous) and 64 steps")]
    [InlineData("--staleness 1 --backup-workers 2", "--staleness 1 cannot be combined with --backup-workers 2")]
    [InlineData("--workers 8 --remedies sync,backup=8", "--backup-workers 8 must be at least 0 and less than --workers 8")]
    public void A_bad_flag_is_refused_with_a_message_that_names_it(string arguments, string message)
    {
        var (exitCode, output) = Invoke(arguments + " --model-bytes 65536");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("error: " + message, output);
    }

    [Fact]
    public void The_remedy_flags_reach_the_coordinator()
    {
        var directory = Directory.CreateTempSubdirectory("distributed-simulate-tests-").FullName;
        try
        {
            var (exitCode, output) = Invoke($"--workers 4 --steps 4 --model-bytes 65536 --jitter 0.2 --no-speculate --backup-workers 1 --output {directory}");

            Assert.True(exitCode == 0, output);
            Assert.Contains("jitter 0.2, slowdowns none; no speculation, 1 backup workers, staleness 0", output);
            // One of 4 shards abandoned in each of the 3 steady steps and step 0, by the real coordinator.
            Assert.Contains("4 shards abandoned", output);
            var rows = File.ReadAllLines(Path.Combine(directory, SimulationReport.StepsCsv));
            Assert.All(rows.Skip(1), r => Assert.EndsWith(",96,32", r));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Remedies_run_each_cluster_once_per_remedy_with_that_remedy()
    {
        var directory = Directory.CreateTempSubdirectory("distributed-simulate-tests-").FullName;
        try
        {
            var (exitCode, output) = Invoke($"--workers 4 --ps-shards 1,2 --steps 4 --model-bytes 65536 --jitter 0.2 --remedies sync,backup=1 --output {directory}");

            Assert.True(exitCode == 0, output);
            var rows = File.ReadAllLines(Path.Combine(directory, SimulationReport.RemediesCsv)).Skip(1).Select(r => r.Split(',')).ToList();
            Assert.Equal(["1 sync", "1 backup=1", "2 sync", "2 backup=1"], rows.Select(r => $"{r[1]} {r[3]}"));
            // abandoned_shards: none in a synchronous step, one of 4 in each of the 4 steps with b = 1.
            Assert.Equal(["0", "4", "0", "4"], rows.Select(r => r[15]));
            Assert.True(new FileInfo(Path.Combine(directory, SimulationReport.RemediesPng)).Length > 0);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void One_cluster_writes_its_steps_and_a_sweep_writes_one_row_per_cluster()
    {
        var directory = Directory.CreateTempSubdirectory("distributed-simulate-tests-").FullName;
        try
        {
            var (exitCode, output) = Invoke($"--workers 2 --steps 2 --model-bytes 65536 --output {directory}/one");
            Assert.True(exitCode == 0, output);
            Assert.Contains("coordinator", output);
            Assert.Equal(3, File.ReadAllLines(Path.Combine(directory, "one", SimulationReport.StepsCsv)).Length);
            Assert.True(new FileInfo(Path.Combine(directory, "one", SimulationReport.StepsPng)).Length > 0);

            Assert.Equal(0, Invoke($"--workers 2,4 --ps-shards 1,2 --steps 2 --model-bytes 65536 --output {directory}/sweep").ExitCode);
            var rows = File.ReadAllLines(Path.Combine(directory, "sweep", SimulationReport.SweepCsv));
            Assert.Equal(1 + 4, rows.Length);
            Assert.Contains(rows, r => r.StartsWith("4,2,direct,", StringComparison.Ordinal));
            Assert.True(new FileInfo(Path.Combine(directory, "sweep", SimulationReport.SweepPng)).Length > 0);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
