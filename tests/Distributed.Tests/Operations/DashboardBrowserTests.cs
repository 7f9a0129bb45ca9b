using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Akka.Actor;
using Distributed.Cli.Commands;
using Distributed.Observability;
using Distributed.Observability.Reporting;
using Distributed.Observability.Telemetry;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Xunit.Abstractions;
using Distributed.Training.Workers;

namespace Distributed.Tests.Operations;

/// <summary>The dashboard in a real browser (headless Chromium over DevTools) against a real training run.</summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string ReadPage = """
        document.readyState !== 'complete' || !document.getElementById('notices') ? null : JSON.stringify({
          connection: document.getElementById('connection').textContent,
          step: document.getElementById('step').textContent,
          throughput: document.getElementById('throughput').textContent,
          loss: document.getElementById('loss').textContent,
          liveWorkers: document.querySelectorAll('#workers td.state-live').length,
          breakdownBars: document.querySelectorAll('#breakdown rect').length,
          lossLines: document.querySelectorAll('#loss-chart polyline').length,
          heatmap: document.getElementById('heatmap-legend').textContent,
          coActivation: document.getElementById('coactivation').textContent,
          detailHead: Array.from(document.querySelectorAll('#worker-detail-head th')).map(th => th.textContent).join('|'),
          detailRows: document.querySelectorAll('#worker-detail tr').length,
          detailP50: (document.querySelector('#worker-detail tr td:nth-child(3)') || { textContent: '' }).textContent,
          staleness: Array.from(document.querySelectorAll('#worker-detail tr')).map(tr => tr.cells[0].textContent + ' ' + (tr.cells[9] || { textContent: '' }).textContent).join('|')
        })
        """;

    [Fact]
    public async Task The_dashboard_shows_live_numbers_that_change_while_a_run_trains()
    {
        var job = new TrainingJob(
            new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: 64 * 60, TestLimit: 64),
            new TrainingPlan(Epochs: 5, GlobalBatch: 64, Seed: 2, new LearningRateSchedule(0.05, ScheduleKind.Linear, 1),
                MinimumWorkers: 2, ShardTimeout: TimeSpan.FromMinutes(2), HealthEvery: 10),
            SgdSettings.Default, Workers: 2, ThreadsPerWorker: 1, OutputDirectory: null);
        var settings = new ObservabilitySettings(10, Dashboard: true, IPAddress.Loopback, DashboardPort: 0, Timeline: false, TensorBoard: false);
        using var system = ActorSystem.Create("dashboard", AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false));
        await using var observability = await RunObservability.StartAsync(settings, job, null, $"Distributed.Training.Test.{Guid.NewGuid():N}");
        using var stop = new CancellationTokenSource();
        var run = TrainingRun.RunAsync(system, job, new CompositeObserver(observability.Observer), InProcessWorkers.Of(job), stop.Token);
        try
        {
            await using var browser = await HeadlessChromium.LaunchAsync();
            await browser.NavigateAsync(observability.Dashboard!.Url);

            var first = await WaitForAsync(browser, page => page["connection"]!.GetValue<string>() == "live" && Number(page, "step") > 0
                && double.IsFinite(Number(page, "throughput")), "the page to connect and show a step", run);
            var later = await WaitForAsync(browser, page => Number(page, "step") >= Number(first, "step") + 3
                && page["heatmap"]!.GetValue<string>().Length > 0, "the step to move on and a health step to be drawn", run);
            output.WriteLine($"first: {first.ToJsonString()}");
            output.WriteLine($"later: {later.ToJsonString()}");

            Assert.True(Number(later, "step") > Number(first, "step"), "the step did not change");
            Assert.True(Number(later, "throughput") > 0);
            Assert.True(double.IsFinite(Number(later, "loss")), $"loss shows '{later["loss"]}'");
            Assert.Equal(2, later["liveWorkers"]!.GetValue<int>());
            Assert.True(later["breakdownBars"]!.GetValue<int>() > 0, "no step-time breakdown bars");
            Assert.Equal(1, later["lossLines"]!.GetValue<int>());
            Assert.InRange(Number(later, "coActivation"), 0.01, 1);
            // The per-worker detail table: shard-time percentiles from the coordinator, copies, abandoned shards, staleness.
            Assert.Equal("worker|shards timed|p50|p90|p99|max|copies started|copies won|shards abandoned|staleness", later["detailHead"]!.GetValue<string>());
            Assert.Equal(2, later["detailRows"]!.GetValue<int>());
            Assert.True(Number(later, "detailP50") > 0, $"p50 shows '{later["detailP50"]}'");
            // Synchronous mode: every applied gradient has staleness 0, and the staleness column says so per worker.
            Assert.Contains("worker-0 0.00 / 0", later["staleness"]!.GetValue<string>());

            var png = await browser.ScreenshotAsync();
            var path = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "TestResults", "dashboard.png"));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, png);
            output.WriteLine($"screenshot: {path}");
            Console.WriteLine($"Dashboard screenshot: {path}");
            Assert.True(png.Length > 20_000, $"the screenshot has only {png.Length} bytes");
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }
    }

    private static double Number(JsonNode page, string field) =>
        double.TryParse(page[field]!.GetValue<string>().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;

    private static async Task<JsonNode> WaitForAsync(HeadlessChromium browser, Func<JsonNode, bool> condition, string what, Task<TrainingOutcome> run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        JsonNode? page = null;
        while (DateTime.UtcNow < deadline)
        {
            var text = (await browser.EvaluateAsync(ReadPage))?.GetValue<string>();
            page = text is null ? null : JsonNode.Parse(text);
            if (page is not null && condition(page)) return page;
            if (run.IsCompleted) throw new InvalidOperationException($"the run ended before {what}: {(await run).Failed?.Reason ?? "finished"}");
            await Task.Delay(250);
        }
        throw new TimeoutException($"waited 120 s for {what}; the page shows {page?.ToJsonString() ?? "nothing"}");
    }
}
