using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Distributed.Cluster.Transport;
using Distributed.Coordinator;
using Distributed.Observability;
using Distributed.Observability.Telemetry;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Training;

namespace Distributed.Tests.Operations;

/// <summary>
/// The coordinator node's tensor channel byte counters on /metrics: what an operator (or bench/Scale) reads to see
/// how the node's traffic grows with the workers and servers. Scraped over HTTP from the real endpoint after real
/// transfers over loopback sockets.
/// </summary>
public sealed class TensorChannelMetricsTests
{
    private static readonly TrainingJob Job = new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10), new DataSpec("synthetic", null, 0, false, 64, 16),
        new TrainingPlan(1, 16, 1, new LearningRateSchedule(0.1, ScheduleKind.Constant, 0), 1, TimeSpan.FromSeconds(30)),
        SgdSettings.Default, 1, 1, null);

    [Fact]
    public async Task The_coordinator_nodes_tensor_bytes_sent_and_received_are_counters_on_metrics_that_move_with_each_transfer()
    {
        await using var node = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        await using var peer = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var settings = new ObservabilitySettings(0, true, IPAddress.Loopback, 0, false, false);
        await using var observability = await RunObservability.StartAsync(settings, Job, null, $"Distributed.Training.Test.{Guid.NewGuid():N}",
            tensorChannel: node);
        using var http = new HttpClient { BaseAddress = observability.Dashboard!.Url, Timeout = TimeSpan.FromSeconds(30) };

        var before = await ScrapeAsync(http);
        Assert.Equal(0, before.Sent);
        Assert.Equal(0, before.Received);

        // The node serves 1000 floats to its peer and fetches 300 from it.
        await peer.FetchAsync(node.Publish(new float[1000]), 1000);
        await node.FetchAsync(peer.Publish(new float[300]), 300);
        var after = await ScrapeAsync(http);
        Assert.Equal(4000, after.Sent);
        Assert.Equal(1200, after.Received);

        await peer.FetchAsync(node.Publish(new float[250]), 250);
        Assert.Equal(5000, (await ScrapeAsync(http)).Sent);
    }

    [Fact]
    public async Task A_run_without_a_tensor_channel_exports_no_tensor_byte_series()
    {
        var settings = new ObservabilitySettings(0, true, IPAddress.Loopback, 0, false, false);
        await using var observability = await RunObservability.StartAsync(settings, Job, null, $"Distributed.Training.Test.{Guid.NewGuid():N}");
        using var http = new HttpClient { BaseAddress = observability.Dashboard!.Url, Timeout = TimeSpan.FromSeconds(30) };

        Assert.DoesNotContain("distributed_tensor_", await http.GetStringAsync("metrics"));
    }

    /// <summary>The two counters' values on the coordinator's series; fails when either series is missing.</summary>
    private static async Task<(long Sent, long Received)> ScrapeAsync(HttpClient http)
    {
        var text = await http.GetStringAsync("metrics");
        Assert.Contains("# TYPE distributed_tensor_sent_bytes_total counter", text);
        Assert.Contains("# TYPE distributed_tensor_received_bytes_total counter", text);
        return (Value(text, "distributed_tensor_sent_bytes_total"), Value(text, "distributed_tensor_received_bytes_total"));
    }

    private static long Value(string text, string name)
    {
        var match = Regex.Match(text, $@"^{name}\{{[^}}]*role=""coordinator""[^}}]*\}} (\S+)", RegexOptions.Multiline);
        Assert.True(match.Success, $"no {name}{{role=\"coordinator\"}} sample in:\n{text}");
        return (long)double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
