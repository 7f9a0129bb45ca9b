using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Ranged fetches over real loopback sockets: what K range servers do with one worker's gradient (each pulls its
/// range, the tensor is served K times) and what workers do with a server's weights range (served until released).
/// </summary>
public sealed class TensorChannelRangeTests
{
    private static float[] Pattern(int length, int seed)
    {
        var values = new float[length];
        var random = new Random(seed);
        for (var i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    [Fact]
    public async Task Each_reader_gets_exactly_its_range_and_the_tensor_is_gone_after_its_servings()
    {
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var data = Pattern(2_500_003, 5);
        var handle = sender.Publish(data, servings: 3);
        int[] starts = [0, 800_000, 1_700_016];

        var parts = await Task.WhenAll(starts.Select((start, i) =>
        {
            var end = i + 1 < starts.Length ? starts[i + 1] : data.Length;
            return receiver.FetchRangeAsync(handle, start, end - start, data.Length);
        }));

        Assert.Equal(data, parts.SelectMany(p => p).ToArray());
        Assert.Equal(0, sender.ParkedCount);
        var again = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchRangeAsync(handle, 0, 10, data.Length));
        Assert.Contains("no longer held", again.Message);
        // Only the payload is counted, on both sides.
        Assert.Equal((long)data.Length * sizeof(float), sender.BytesSent);
        Assert.Equal((long)data.Length * sizeof(float), receiver.BytesReceived);
        Assert.Equal(0, receiver.BytesSent);
    }

    [Theory]
    [InlineData(-1, 10, 1000, "negative start or count")]
    [InlineData(10, -1, 1000, "negative start or count")]
    [InlineData(995, 10, 1000, "runs past its 1000 floats")]
    [InlineData(int.MaxValue, 10, 1000, "runs past its 1000 floats")]
    [InlineData(0, 10, 999, "announces 1000 floats, expected 999")]
    public async Task A_bad_range_is_refused_before_anything_is_connected(int start, int count, int expected, string problem)
    {
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        // Nothing listens at this port: a refusal that connected first would say it cannot reach it instead.
        var handle = new TensorHandle("127.0.0.1", NodeProcess.FreePort(), 42, 1000);
        Assert.Contains(problem, TensorHandleCheck.RangeProblem(handle, start, count, expected));
        var error = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchRangeAsync(handle, start, count, expected));
        Assert.Contains(problem, error.Message);
        Assert.Equal(0, receiver.BytesReceived);
    }

    [Fact]
    public async Task A_range_past_what_the_node_holds_is_refused_by_it_without_using_up_a_serving()
    {
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var data = Pattern(1000, 9);
        var honest = sender.Publish(data);
        // A handle that overstates the tensor's length passes the caller's own check; the serving node refuses the range.
        var overstated = honest with { Length = 5000 };

        var error = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchRangeAsync(overstated, 900, 200, 5000));

        Assert.Contains("holds 1000 floats, so it has no elements [900, 1100)", error.Message);
        Assert.Equal(1, sender.ParkedCount);
        Assert.Equal(data.AsSpan(900, 100).ToArray(), await receiver.FetchRangeAsync(honest, 900, 100, data.Length));
        Assert.Equal(0, sender.ParkedCount);
    }

    [Fact]
    public async Task A_tensor_served_until_released_serves_any_number_of_readers_never_expires_and_stops_at_release()
    {
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, unclaimedLifetime: TimeSpan.FromMilliseconds(200));
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var data = Pattern(10_000, 3);
        var handle = sender.Publish(data, servings: TensorChannel.UntilReleased);

        for (var reader = 0; reader < 5; reader++) Assert.Equal(data, await receiver.FetchAsync(handle, data.Length));
        await Task.Delay(600); // three expiry sweeps
        Assert.Equal(data.AsSpan(16, 32).ToArray(), await receiver.FetchRangeAsync(handle, 16, 32, data.Length));

        sender.Release(handle);
        var gone = await Assert.ThrowsAsync<TensorTransferException>(() => receiver.FetchAsync(handle, data.Length));
        Assert.Contains("no longer held", gone.Message);
    }

    [Fact]
    public async Task A_recycled_tensor_with_several_servings_returns_to_the_pool_only_after_the_last()
    {
        var senderBuffers = new TensorBufferPool(maxRetainedBytes: 1 << 20);
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, buffers: senderBuffers);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null, buffers: new TensorBufferPool(maxRetainedBytes: 1 << 20));
        var data = Pattern(40_000, 11);
        var handle = sender.Publish(data, recycle: true, servings: 2);

        Assert.Equal(data.AsSpan(0, 20_000).ToArray(), await receiver.FetchRangeAsync(handle, 0, 20_000, data.Length));
        await Task.Delay(200);
        Assert.Equal(0, senderBuffers.RetainedBytes);

        Assert.Equal(data.AsSpan(20_000).ToArray(), await receiver.FetchRangeAsync(handle, 20_000, 20_000, data.Length));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (senderBuffers.RetainedBytes == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Same(data, senderBuffers.Rent(data.Length));
    }

    /// <summary>
    /// A range of a 16-bit packed result buffer: odd parameter counts, ranges starting on the second code of a wire
    /// float, ranges inside the statistics and ranges across the boundary all decode to the worker's very floats.
    /// </summary>
    [Theory]
    [InlineData(GradientCompression.Float16, 1001, 1100, 0, 1100)]
    [InlineData(GradientCompression.Float16, 1001, 1100, 0, 512)]
    [InlineData(GradientCompression.Float16, 1001, 1100, 513, 300)]
    [InlineData(GradientCompression.Float16, 1001, 1100, 1000, 1)]
    [InlineData(GradientCompression.Float16, 1001, 1100, 1001, 99)]
    [InlineData(GradientCompression.BFloat16, 1000, 1100, 512, 588)]
    [InlineData(GradientCompression.BFloat16, 1001, 1100, 7, 0)]
    [InlineData(GradientCompression.BFloat16, 1001, 1100, 999, 50)]
    [InlineData(GradientCompression.None, 1001, 1100, 333, 700)]
    public async Task A_range_of_an_encoded_result_decodes_to_the_same_floats_and_moves_only_its_wire_floats(
        GradientCompression encoding, int parameters, int stateLength, int start, int count)
    {
        await using var sender = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var buffer = OnGrid(Pattern(stateLength, 17), parameters, encoding);
        var wire = encoding == GradientCompression.None ? buffer : GradientEncoding.Encode(buffer, parameters, encoding, new TensorBufferPool(0));
        var handle = sender.Publish(wire) with { Encoding = encoding };

        var range = await receiver.FetchStateRangeAsync(handle, encoding, stateLength, parameters, start, count);

        Assert.Equal(buffer.AsSpan(start, count).ToArray(), range);
        var (_, wireCount, _) = GradientEncoding.WireRange(encoding, stateLength, parameters, start, count);
        Assert.Equal((long)wireCount * sizeof(float), receiver.BytesReceived);
        if (encoding != GradientCompression.None && start + count <= parameters) Assert.True(wireCount <= count / 2 + 1);
    }

    [Fact]
    public async Task A_range_of_a_result_with_another_encoding_or_length_is_refused()
    {
        await using var receiver = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var port = NodeProcess.FreePort();
        var wrongEncoding = new TensorHandle("127.0.0.1", port, 1, 1100, GradientCompression.None);
        var error = await Assert.ThrowsAsync<TensorTransferException>(() =>
            receiver.FetchStateRangeAsync(wrongEncoding, GradientCompression.BFloat16, 1100, 1000, 0, 10));
        Assert.Contains("encoded as none, but this run compresses gradients as bf16", error.Message);

        var wrongLength = new TensorHandle("127.0.0.1", port, 1, 1100, GradientCompression.Float16);
        error = await Assert.ThrowsAsync<TensorTransferException>(() =>
            receiver.FetchStateRangeAsync(wrongLength, GradientCompression.Float16, 1100, 1000, 0, 10));
        Assert.Contains("in fp16 has 600", error.Message);

        var honest = new TensorHandle("127.0.0.1", port, 1, 600, GradientCompression.Float16);
        error = await Assert.ThrowsAsync<TensorTransferException>(() =>
            receiver.FetchStateRangeAsync(honest, GradientCompression.Float16, 1100, 1000, 1090, 11));
        Assert.Contains("does not fit a state of 1100", error.Message);
    }

    private static float[] OnGrid(float[] values, int parameters, GradientCompression encoding)
    {
        for (var i = 0; i < parameters; i++)
        {
            values[i] = encoding switch
            {
                GradientCompression.Float16 => (float)(Half)values[i],
                GradientCompression.BFloat16 => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(values[i]) & 0xFFFF_0000u),
                _ => values[i],
            };
        }
        return values;
    }
}
