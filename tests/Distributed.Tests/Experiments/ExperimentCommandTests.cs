using System.CommandLine;
using Distributed.Experiments;
using Distributed.Cli.Commands;

namespace Distributed.Tests.Experiments;

public class ExperimentCommandTests
{
    [Fact]
    public void The_experiment_command_offers_shattered_vanishing_and_depth()
    {
        var command = ExperimentCommands.Create();

        Assert.Equal("experiment", command.Name);
        Assert.Equal(["shattered", "vanishing", "depth"], command.Subcommands.Select(c => c.Name));
    }

    [Fact]
    public void Every_option_of_every_experiment_has_help_text_and_help_lists_them()
    {
        foreach (var sub in ExperimentCommands.Create().Subcommands)
        {
            Assert.All(sub.Options, o => Assert.False(string.IsNullOrWhiteSpace(o.Description), $"{sub.Name} {o.Name}"));
            var (exitCode, help) = ExperimentRun.Invoke("experiment", sub.Name, "--help");
            Assert.Equal(0, exitCode);
            Assert.All(sub.Options, o => Assert.Contains(o.Name, help));
            Assert.Contains("--quick", help);
            Assert.Contains("--output", help);
        }
    }

    [Theory]
    [InlineData("shattered", "--variants", "no-such-variant")]
    [InlineData("shattered", "--depths", "0")]
    [InlineData("vanishing", "--seeds", "0")]
    [InlineData("depth", "--depths", "21")]
    [InlineData("depth", "--families", "dense")]
    [InlineData("depth", "--norm", "layer")]
    [InlineData("depth", "--epochs", "0")]
    [InlineData("depth", "--probe-batch", "0")]
    [InlineData("depth", "--data", "/nonexistent/fashion-mnist")]
    [InlineData("depth", "--min-workers", "2")]
    [InlineData("shattered", "--ensemble-variants", "plain-he")]
    [InlineData("shattered", "--ensemble-distances", "4")]
    public void Invalid_settings_are_a_usage_error_before_anything_runs(string command, string option, string value)
    {
        var (exitCode, output) = ExperimentRun.Invoke("experiment", command, option, value, "--output", "/nonexistent/never-created");

        Assert.Equal(2, exitCode);
        Assert.DoesNotContain("Output:", output);
        Assert.False(Directory.Exists("/nonexistent/never-created"));
    }

    [Fact]
    public void List_options_accept_commas_and_spaces_alike()
    {
        var parse = new RootCommand { ExperimentCommands.Create() }.Parse("experiment shattered --depths 1,2 4 --variants plain-bn,resnet-bn");

        Assert.Empty(parse.Errors);
        Assert.Equal([1, 2, 4], parse.GetValue<int[]?>("--depths")!);
        Assert.Equal(["plain-bn", "resnet-bn"], parse.GetValue<string[]?>("--variants")!);
    }
}
