using Distributed.Cluster;
using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.Tests.Cluster;

public sealed class TensorChannelTests
{
    private static float[] Pattern(int length, int seed)
    {
        var values = new float[length];
        var random = new Random(seed);
        for (var i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    [Fact]
    public async Task A_published_tensor_arrives_bit_for_bit_and_only_once()
    {
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var data = Pattern(3_000_001, 7);
        var handle = sender.Publish(data);
        Assert.Equal(1, sender.ParkedCount);

        var received = await receiver.FetchAsync(handle, data.Length);

        Assert.Equal(data, received);
        Assert.NotSame(data, received);
        Assert.Equal(0, sender.ParkedCount);
        var again = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchAsync(handle, data.Length));
        Assert.Contains("no longer held", again.Message);
    }

    [Fact]
    public async Task Concurrent_fetches_over_pooled_connections_each_get_their_own_tensor()
    {
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        for (var round = 0; round < 3; round++)
        {
            var tensors = Enumerable.Range(0, 4).Select(i => Pattern(100_000 + i, round * 10 + i)).ToArray();
            var handles = tensors.Select(t => sender.Publish(t)).ToArray();
            var received = await Task.WhenAll(handles.Select(h => receiver.FetchAsync(h, h.Length)));
            for (var i = 0; i < tensors.Length; i++) Assert.Equal(tensors[i], received[i]);
        }
    }

    [Fact]
    public async Task A_tensor_published_for_recycling_returns_to_the_pool_once_sent_and_not_before()
    {
        var senderBuffers = new TensorBufferPool(maxRetainedBytes: 1 << 20);
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, buffers: senderBuffers);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, buffers: new TensorBufferPool(maxRetainedBytes: 1 << 20));
        var data = Pattern(40_000, 11);
        var handle = sender.Publish(data, recycle: true);
        Assert.Equal(0, senderBuffers.RetainedBytes);

        var received = await receiver.FetchAsync(handle, data.Length);

        Assert.Equal(data, received);
        // The sender recycles once its write completes, which may be a moment after the receiver has the bytes.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (senderBuffers.RetainedBytes == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Same(data, senderBuffers.Rent(data.Length));
    }

    [Fact]
    public async Task A_handle_naming_a_node_that_is_gone_fails_with_a_clear_error()
    {
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var port = NodeProcess.FreePort();
        var error = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchAsync(new TensorHandle("127.0.0.1", port, 42, 10), 10));
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }

    [Fact]
    public async Task Tensors_never_claimed_expire()
    {
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, TimeSpan.FromMilliseconds(200));
        sender.Publish(new float[10]);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (sender.ParkedCount > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(0, sender.ParkedCount);
    }

    [Fact]
    public async Task With_TLS_a_node_of_the_cluster_fetches_and_a_node_with_a_foreign_certificate_cannot()
    {
        using var cluster = new TestCertificates("cluster");
        using var foreign = new TestCertificates("foreign");
        var owner = Load(cluster.IssueNode("owner"), cluster);
        var member = Load(cluster.IssueNode("member"), cluster);
        var intruder = Load(foreign.IssueNode("intruder"), foreign);
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", owner);
        await using var trusted = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", member);
        await using var untrusted = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", intruder);
        var data = Pattern(1000, 3);

        Assert.Equal(data, await trusted.FetchAsync(sender.Publish(data), data.Length));

        var stolen = sender.Publish(data);
        await Assert.ThrowsAnyAsync<IOException>(() => untrusted.FetchAsync(stolen, stolen.Length));
        Assert.Equal(1, sender.ParkedCount); // nothing was served to the intruder
    }

    private static ClusterTls Load(string pfx, TestCertificates authority) =>
        ClusterTls.Load(new TlsSettings { Enabled = true, CertificatePath = pfx, CertificatePassword = TestCertificates.Password, AuthorityPath = authority.AuthorityPath })!;
}
