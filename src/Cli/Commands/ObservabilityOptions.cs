using System.CommandLine;
using System.Net;
using Distributed.Observability;

namespace Distributed.Cli.Commands;

/// <summary>The `train` options that concern operators rather than the model; bound separately so they stay in one place.</summary>
public static class ObservabilityOptions
{
    /// <summary>Measured overhead at K = 50: about 1% of step time on ResNet-20 (docs/operations.md).</summary>
    public const int DefaultHealthEvery = 50;
    public const int DefaultDashboardPort = 5080;

    public static readonly Option<int> HealthEveryOption = new("--health-every")
    { Description = "Measure gradient health (per-layer norms, dead ReLUs, co-activation, shattering) every K steps; 0: never.", DefaultValueFactory = _ => DefaultHealthEvery };
    public static readonly Option<int> DashboardPortOption = new("--dashboard-port")
    {
        Description = $"Port of the live dashboard, /api/status and Prometheus /metrics (default {DefaultDashboardPort}, or a free port if that one is taken); 0: any free port.",
        DefaultValueFactory = _ => DefaultDashboardPort,
    };
    public static readonly Option<string> DashboardAddressOption = new("--dashboard-address")
    { Description = "IP address the dashboard binds to (default 127.0.0.1: this machine only; 0.0.0.0 exposes it to the network).", DefaultValueFactory = _ => "127.0.0.1" };
    public static readonly Option<bool> NoDashboardOption = new("--no-dashboard")
    { Description = "Serve no dashboard and no /metrics." };
    public static readonly Option<bool> TimelineOption = new("--timeline")
    { Description = "Write timeline.json (Chrome trace events: per step, per worker compute/transfer/wait) to the output directory." };
    public static readonly Option<bool> TensorBoardOption = new("--tensorboard")
    { Description = "Write TensorBoard event files (scalars, gradient histograms) to OUTPUT/tensorboard." };

    public static IEnumerable<Option> All =>
        [HealthEveryOption, DashboardPortOption, DashboardAddressOption, NoDashboardOption, TimelineOption, TensorBoardOption];

    /// <summary>Reads and checks the options; bad values throw <see cref="ArgumentException"/> naming the option.</summary>
    public static ObservabilitySettings Bind(ParseResult parse)
    {
        var healthEvery = parse.GetValue(HealthEveryOption);
        if (healthEvery < 0) throw new ArgumentException($"--health-every {healthEvery} must be >= 0 (0: never)");
        var port = parse.GetValue(DashboardPortOption);
        if (port is < 0 or > 65535) throw new ArgumentException($"--dashboard-port {port} must be between 0 and 65535 (0: any free port)");
        var addressText = parse.GetValue(DashboardAddressOption) ?? "127.0.0.1";
        if (!IPAddress.TryParse(addressText, out var address))
            throw new ArgumentException($"--dashboard-address '{addressText}' is not an IP address (e.g. 127.0.0.1)");
        return new ObservabilitySettings(healthEvery, !parse.GetValue(NoDashboardOption), address, port,
            parse.GetValue(TimelineOption), parse.GetValue(TensorBoardOption), parse.GetResult(DashboardPortOption) is { Implicit: false });
    }
}
