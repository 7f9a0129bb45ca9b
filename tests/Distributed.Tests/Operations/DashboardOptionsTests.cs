using System.Net;
using System.Net.Sockets;
using Distributed.Cli.Commands;
using Distributed.Observability;
using Distributed.Observability.Telemetry;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Tests.Operations;

/// <summary>The operations options of `train`: defaults, bad values, and a dashboard port that is already taken.</summary>
public sealed class DashboardOptionsTests
{
    private static readonly TrainingJob Job = new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10), new DataSpec("synthetic", null, 0, false, 64, 16),
        new TrainingPlan(1, 16, 1, new LearningRateSchedule(0.1, ScheduleKind.Constant, 0), 1, TimeSpan.FromSeconds(30)),
        SgdSettings.Default, 1, 1, null);

    [Fact]
    public void Defaults_measure_health_every_50_steps_and_serve_the_dashboard_on_localhost_5080()
    {
        var settings = ObservabilityOptions.Bind(TrainCommand.Create().Parse([]));

        Assert.Equal(new ObservabilitySettings(50, true, IPAddress.Loopback, 5080, false, false, DashboardPortChosen: false), settings);
    }

    [Theory]
    [InlineData("--health-every -1", "--health-every -1 must be >= 0")]
    [InlineData("--dashboard-port 70000", "--dashboard-port 70000 must be between 0 and 65535")]
    [InlineData("--dashboard-address localhost", "--dashboard-address 'localhost' is not an IP address")]
    public void Bad_values_are_refused_with_a_message_naming_the_option(string arguments, string expected)
    {
        var parse = TrainCommand.Create().Parse(arguments.Split(' '));

        var error = Assert.Throws<ArgumentException>(() => ObservabilityOptions.Bind(parse));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task A_taken_port_the_user_chose_is_an_error_but_a_taken_default_port_falls_back_to_a_free_one()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var taken = ((IPEndPoint)occupant.LocalEndpoint).Port;
        var settings = new ObservabilitySettings(0, true, IPAddress.Loopback, taken, false, false);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            RunObservability.StartAsync(settings with { DashboardPortChosen = true }, Job, null, $"Distributed.Training.Test.{Guid.NewGuid():N}"));
        await using var fallback = await RunObservability.StartAsync(settings, Job, null, $"Distributed.Training.Test.{Guid.NewGuid():N}");

        Assert.Contains($"--dashboard-port {taken}", error.Message);
        Assert.NotEqual(taken, fallback.Dashboard!.Url.Port);
        Assert.Contains($"port {taken} is taken", fallback.DashboardNote);
        using var http = new HttpClient();
        Assert.Contains("<title>Distributed", await http.GetStringAsync(fallback.Dashboard.Url));
    }
}
