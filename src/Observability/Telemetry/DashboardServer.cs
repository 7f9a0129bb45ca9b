using System.Net;
using System.Reflection;
using System.Text.Json;
using Distributed.Cluster.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Distributed.Observability.Telemetry;

/// <summary>
/// The coordinator's web endpoint (ASP.NET Core minimal APIs on Kestrel): the live dashboard page at /, its data
/// at /api/status (also what `distributed status` reads) and as a server-sent event stream at /api/events, and
/// the Prometheus scrape endpoint at /metrics. Binds to one address, 127.0.0.1 unless told otherwise.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    /// <summary>The event stream pushes at most this often, and only when something changed.</summary>
    private static readonly TimeSpan PushInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Where the dashboard answers, e.g. http://127.0.0.1:5080/.</summary>
    public Uri Url { get; }

    /// <param name="address">An IP address to bind (127.0.0.1: this machine only).</param>
    /// <param name="port">A TCP port; 0 picks a free one (see <see cref="Url"/>).</param>
    public static async Task<DashboardServer> StartAsync(IPAddress address, int port, RunTelemetry telemetry, string meterName,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddCommandOwnedLifetime();
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.UseKestrel(options => options.Listen(address, port));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(meterName)
            // The node itself next to the training: GC, heap, thread pool and JIT (dotnet_*), memory, CPU and
            // threads of the process (process_*), so a slow or growing coordinator shows why on the same page.
            .AddRuntimeInstrumentation()
            .AddProcessInstrumentation()
            // Every scrape sees the figures of that moment (the exporter would otherwise replay one answer for 300 ms).
            .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0));
        var app = builder.Build();

        var page = LoadPage();
        app.MapGet("/", () => Results.Content(page, "text/html; charset=utf-8"));
        app.MapGet("/api/status", () => Results.Text(JsonSerializer.Serialize(telemetry.Snapshot(), TelemetrySnapshot.Json), "application/json"));
        app.MapGet("/api/events", (HttpContext context, IHostApplicationLifetime lifetime) => StreamAsync(context, telemetry, lifetime.ApplicationStopping));
        app.MapPrometheusScrapingEndpoint("/metrics");

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException error)
        {
            await app.DisposeAsync();
            throw new ArgumentException($"--dashboard-port {port}: cannot listen on {address}:{port} ({error.Message}); " +
                "choose another port (0: any free port) or pass --no-dashboard", error);
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardServer(app, new Uri(bound.EndsWith('/') ? bound : bound + "/"));
    }

    private static async Task StreamAsync(HttpContext context, RunTelemetry telemetry, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var cancellation = linked.Token;
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        var sent = -1L;
        var lastWrite = DateTime.UtcNow;
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                var version = telemetry.Version;
                if (version != sent)
                {
                    var json = JsonSerializer.Serialize(telemetry.Snapshot(), TelemetrySnapshot.Json);
                    await context.Response.WriteAsync($"data: {json}\n\n", cancellation);
                    await context.Response.Body.FlushAsync(cancellation);
                    sent = version;
                    lastWrite = DateTime.UtcNow;
                }
                else if (DateTime.UtcNow - lastWrite > Heartbeat)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", cancellation);
                    await context.Response.Body.FlushAsync(cancellation);
                    lastWrite = DateTime.UtcNow;
                }
                await Task.Delay(PushInterval, cancellation);
            }
        }
        catch (OperationCanceledException)
        {
            // The page went away or the run is over.
        }
    }

    private static string LoadPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard.html")
            ?? throw new InvalidOperationException("the dashboard page is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }


    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
