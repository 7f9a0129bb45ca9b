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
    public void A_bad_flag_is_refused_with_a_message_that_names_it(string arguments, string message)
    {
        var (exitCode, output) = Invoke(arguments + " --model-bytes 65536");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("error: " + message, output);
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
