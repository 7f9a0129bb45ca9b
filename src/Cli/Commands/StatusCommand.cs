using Distributed.Protocol;
using System.CommandLine;
using System.Globalization;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using Distributed.Observability.Telemetry;

namespace Distributed.Cli.Commands;

/// <summary>`status`: asks a running coordinator (its dashboard's /api/status) and prints its workers and recent figures.</summary>
public static class StatusCommand
{
    private static readonly Option<string> UrlOption = new("--url")
    {
        Description = "The coordinator's dashboard address.",
        DefaultValueFactory = _ => $"http://127.0.0.1:{ObservabilityOptions.DefaultDashboardPort}/",
    };
    private static readonly Option<double> TimeoutOption = new("--timeout")
    { Description = "Seconds to wait for the answer.", DefaultValueFactory = _ => 5.0 };

    public static Command Create()
    {
        var command = new Command("status", "Show the workers and recent figures of a running training (asks its dashboard).");
        command.Add(UrlOption);
        command.Add(TimeoutOption);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var url = parse.GetValue(UrlOption)!;
            var timeout = parse.GetValue(TimeoutOption);
            if (!(timeout > 0)) return Fail($"--timeout {timeout} must be a positive number of seconds");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
                return Fail($"--url '{url}' is not an http:// address");
            try
            {
                var snapshot = await FetchAsync(baseUri, TimeSpan.FromSeconds(timeout), cancellationToken);
                Console.Write(Render(snapshot));
                return 0;
            }
            catch (Exception error) when (error is HttpRequestException or TaskCanceledException or JsonException)
            {
                return Fail($"no training answers at {baseUri} ({error.Message}); is a run going with its dashboard on (train --dashboard-port)?");
            }
        });
        return command;
    }

    public static async Task<TelemetrySnapshot> FetchAsync(Uri baseUri, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { Timeout = timeout };
        var json = await client.GetStringAsync(new Uri(baseUri, "api/status"), cancellationToken);
        return JsonSerializer.Deserialize<TelemetrySnapshot>(json, TelemetrySnapshot.Json)
            ?? throw new JsonException("empty answer");
    }

    /// <summary>The run header, figures, step breakdown, a table of workers, health and the latest warnings.</summary>
    public static string Render(TelemetrySnapshot snapshot)
    {
        var text = new StringBuilder();
        var run = snapshot.Run;
        var figures = snapshot.Figures;
        text.AppendLine(CultureInfo.InvariantCulture, $"{run.Model} on {run.Dataset}: {run.Phase}, step {run.Step}/{run.TotalSteps}, epoch {run.Epoch + 1}/{run.Epochs}, " +
            $"up {TimeSpan.FromSeconds(Math.Round(run.UptimeSeconds)):c}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  throughput {Number(figures.ImagesPerSecond, "F0")} img/s   step {Number(figures.StepMilliseconds, "F1")} ms   " +
            $"loss {Number(figures.Loss, "F4")}   train acc {Percent(figures.TrainAccuracy)}   test acc {Percent(figures.TestAccuracy)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  lr {Number(figures.LearningRate, "G3")}   gradient norm {Number(figures.GradientNorm, "G3")}   " +
            $"checkpoint age {(figures.CheckpointAgeSeconds is { } age ? $"{age:F0} s" : "none yet")}   health overhead {Percent(figures.HealthOverhead)}");
        var b = snapshot.Breakdown;
        text.AppendLine(CultureInfo.InvariantCulture, $"  step time (ms, mean per worker): compute {b.Compute:F1}, transfer {b.Transfer:F1}, wait {b.Wait:F1}, " +
            $"aggregation {b.Aggregation:F2}, optimizer {b.Optimizer:F2}, health {b.Health:F2}, other {b.Other:F1}");
        var m = snapshot.Membership;
        text.AppendLine(CultureInfo.InvariantCulture, $"  workers: {m.Live} live, {m.Joining} joining, {m.Unreachable} unreachable, {m.Rejected} rejected");
        text.AppendLine();
        text.AppendLine($"  {"worker",-16} {"state",-12} {"shards",7} {"mean ms",8} {"last ms",8} {"straggler",9} {"slowest",8} {"missed",6}");
        foreach (var w in snapshot.Workers)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {w.Name,-16} {w.State.Text(),-12} {w.Shards,7} {Number(w.MeanShardMilliseconds, "F1"),8} " +
                $"{Number(w.LastShardMilliseconds, "F1"),8} {Number(w.StragglerScore, "F2"),9} {Percent(w.SlowestFraction),8} {w.MissedDeadlines,6}");
        }
        if (snapshot.Health is { } health)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"  gradient health at step {health.Step}: first/last layer ratio {health.FirstToLastGradientRatio:G3}, " +
                $"dead ReLUs {health.DeadFraction:P1}, co-activation {health.CoActivation:F3}, shattering ρ(1) " +
                $"{(health.ShatteringAutocorrelation.Count > 0 ? health.ShatteringAutocorrelation[0].ToString("F3", CultureInfo.InvariantCulture) : "-")}");
        }
        foreach (var warning in snapshot.Warnings.Take(5)) text.AppendLine($"  warning: {warning.Text}");
        return text.ToString();
    }

    private static string Number(double? value, string format) =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Percent(double? value) =>
        value is { } v && double.IsFinite(v) ? v.ToString("P1", CultureInfo.InvariantCulture) : "-";

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
