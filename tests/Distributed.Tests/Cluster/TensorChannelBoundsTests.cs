using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Distributed.Cluster;
using Distributed.Cluster.Transport;
using Distributed.Cluster.Node;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Real sockets on loopback against peers that misbehave: one that connects and never speaks, too many connections,
/// a handle announcing a giant length, a node that stops sending mid-transfer. Each bound trips well within the
/// generous limits the tests wait for; without the bounds each of these would wait forever (or rent gigabytes).
/// </summary>
public sealed class TensorChannelBoundsTests() : Akka.TestKit.Xunit2.TestKit(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false))
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private static readonly TensorChannelSettings Tight = new()
    {
        ReadTimeout = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(1), ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    [Fact]
    public async Task A_peer_that_connects_and_never_speaks_is_let_go_after_the_idle_timeout()
    {
        await using var channel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, settings: Tight);
        using var silent = new TcpClient();
        await silent.ConnectAsync(IPAddress.Loopback, channel.Port);

        Assert.True(await ClosedByPeerAsync(silent), "the channel kept a silent connection open");
        await WaitUntilAsync(() => channel.ConnectionCount == 0);
    }

    [Fact]
    public async Task Connections_beyond_the_cap_are_closed_at_once_while_the_others_are_served()
    {
        var settings = TensorChannelSettings.Default with { MaxConnections = 2 };
        await using var channel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, settings: settings);
        using var first = new TcpClient();
        using var second = new TcpClient();
        await first.ConnectAsync(IPAddress.Loopback, channel.Port);
        await second.ConnectAsync(IPAddress.Loopback, channel.Port);
        await WaitUntilAsync(() => channel.ConnectionCount == 2);

        using var third = new TcpClient();
        await third.ConnectAsync(IPAddress.Loopback, channel.Port);
        Assert.True(await ClosedByPeerAsync(third), "a connection over the cap was kept");
        Assert.Equal(2, channel.ConnectionCount);

        // Once one goes, a fetch is served again.
        first.Dispose();
        await WaitUntilAsync(() => channel.ConnectionCount < 2);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var data = new float[1000];
        Assert.Equal(data, await receiver.FetchAsync(channel.Publish(data), data.Length));
    }

    [Fact]
    public async Task A_handle_announcing_a_giant_length_is_refused_before_anything_is_connected_or_rented()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var giant = new TensorHandle("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, 7, int.MaxValue);

        var error = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchAsync(giant, 270_810));

        Assert.Contains("announces 2147483647 floats, expected 270810", error.Message);
        Assert.False(listener.Pending(), "the fetch connected to the peer before checking the length");
    }

    [Fact]
    public async Task A_peer_answering_with_a_giant_byte_count_is_refused()
    {
        var (port, server) = FakePeer(announcedBytes: (long)int.MaxValue * sizeof(float), sendBytes: 0);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, settings: Tight);

        var error = await Assert.ThrowsAnyAsync<IOException>(() => receiver.FetchAsync(new TensorHandle("127.0.0.1", port, 9, 1000), 1000).WaitAsync(Generous));

        Assert.Contains("announced 8589934588 bytes", error.Message);
        await server;
    }

    [Fact]
    public async Task A_transfer_that_stalls_fails_within_the_read_timeout()
    {
        var (port, server) = FakePeer(announcedBytes: 1000 * sizeof(float), sendBytes: 100);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, settings: Tight);

        var error = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchAsync(new TensorHandle("127.0.0.1", port, 9, 1000), 1000).WaitAsync(Generous));

        Assert.Contains("timed out after 1 s receiving tensor", error.Message);
        Assert.Contains("stalled after 0 of 4000 bytes", error.Message);
        await server;
    }

    [Fact]
    public async Task A_stalled_weights_fetch_on_a_worker_node_becomes_a_failed_shard_for_the_coordinator_to_reassign()
    {
        var (port, server) = FakePeer(announcedBytes: 1000 * sizeof(float), sendBytes: 100);
        await using var channel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, settings: Tight);
        var endpoint = Sys.ActorOf(WorkerEndpointActor.Props(Props.Create(() => new ConfiguredWorker(1000)), channel));
        endpoint.Tell(new ConfigureWorker(ModelSpec.ResNet20FashionMnist, new DataSpec("synthetic", null, 0, false), 1), TestActor);
        await ExpectMsgAsync<WorkerConfigured>(Generous);

        endpoint.Tell(new RemoteWorkRequest(new WorkRequest(4, WorkKind.Train, 0, 2, 3, [1, 2], null), new TensorHandle("127.0.0.1", port, 9, 1000)), TestActor);

        var failed = await ExpectMsgAsync<WorkFailed>(Generous);
        Assert.Equal((4, 2), (failed.Round, failed.Shard));
        Assert.Contains("timed out", failed.Reason);
        await server;

        // A handle of the wrong length is refused without a fetch, also as a failed shard.
        endpoint.Tell(new RemoteWorkRequest(new WorkRequest(5, WorkKind.Train, 0, 1, 3, [1, 2], null), new TensorHandle("127.0.0.1", port, 10, int.MaxValue)), TestActor);
        var refused = await ExpectMsgAsync<WorkFailed>(Generous);
        Assert.Equal(5, refused.Round);
        Assert.Contains("the model's state has 1000", refused.Reason);
    }

    [Theory]
    [InlineData("10.0.0.1", 1000, "10.0.0.1", 1000, null)]
    [InlineData("10.0.0.1", 1000, null, 1000, null)]
    [InlineData("10.0.0.9", 1000, "10.0.0.1", 1000, "points at 10.0.0.9:4100, but came from 10.0.0.1")]
    [InlineData("10.0.0.1", int.MaxValue, "10.0.0.1", 1000, "announces 2147483647 floats, the model's state has 1000")]
    [InlineData("10.0.0.1", 1000, "10.0.0.1", null, "before this node knew the model's state length")]
    public void A_handle_must_name_its_sender_and_the_models_length(string host, int length, string? sender, int? expected, string? problem)
    {
        var found = TensorHandleCheck.Problem(new TensorHandle(host, 4100, 1, length), sender, expected);
        if (problem is null) Assert.Null(found);
        else Assert.Contains(problem, found);
    }

    [Fact]
    public void The_bounds_are_bound_from_configuration_and_a_bad_value_is_named()
    {
        var settings = ClusterSettings.From(Configuration(("Cluster:TensorChannel:ReadTimeoutSeconds", "7.5"), ("Cluster:TensorChannel:MaxConnections", "12")), new ClusterSettings());
        Assert.Equal(TimeSpan.FromSeconds(7.5), settings.TensorChannel.ReadTimeout);
        Assert.Equal(12, settings.TensorChannel.MaxConnections);
        Assert.Equal(TensorChannelSettings.Default.ConnectTimeout, settings.TensorChannel.ConnectTimeout);

        var error = Assert.Throws<ArgumentException>(() => ClusterSettings.From(Configuration(("Cluster:TensorChannel:IdleTimeoutSeconds", "forever")), new ClusterSettings()));
        Assert.Contains("Cluster:TensorChannel:IdleTimeoutSeconds 'forever' is not a positive number of seconds", error.Message);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();

    /// <summary>
    /// A node that answers one fetch with a "found" header announcing <paramref name="announcedBytes"/>, sends
    /// <paramref name="sendBytes"/> of them and then neither sends nor closes until the fetcher gives up.
    /// </summary>
    private static (int Port, Task Server) FakePeer(long announcedBytes, int sendBytes)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var header = new byte[16];
                await stream.ReadExactlyAsync(header);
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), 0);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), announcedBytes);
                await stream.WriteAsync(header);
                await stream.WriteAsync(new byte[sendBytes]);
                // Stalled: wait for the fetcher to hang up (read returns 0), never longer than the test's patience.
                var buffer = new byte[1];
                using var patience = new CancellationTokenSource(Generous);
                try { while (await stream.ReadAsync(buffer, patience.Token) > 0) { } }
                catch (Exception error) when (error is IOException or OperationCanceledException) { }
            }
            finally
            {
                listener.Stop();
            }
        });
        return (port, server);
    }

    /// <summary>True when the other side closes (or resets) the connection within the generous limit.</summary>
    private static async Task<bool> ClosedByPeerAsync(TcpClient client)
    {
        using var patience = new CancellationTokenSource(Generous);
        try
        {
            return await client.GetStream().ReadAsync(new byte[1], patience.Token) == 0;
        }
        catch (IOException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException("condition not reached in time");
            await Task.Delay(50);
        }
    }

    /// <summary>Stands in for the node's worker: configured with a model of <c>stateLength</c> floats.</summary>
    private sealed class ConfiguredWorker : ReceiveActor
    {
        public ConfiguredWorker(int stateLength) => Receive<ConfigureWorker>(_ => Sender.Tell(new WorkerConfigured("fake", stateLength, 64, 16)));
    }
}
