using System.Runtime.InteropServices;
using Distributed.Cluster.Transport;
using Distributed.Protocol;
using Distributed.Worker;

namespace Distributed.Tests.Compression;

/// <summary>
/// A compressed gradient crosses the tensor channel as 16-bit codes and decodes, on the other node, to exactly the
/// floats the worker rounded; the running statistics cross as they are; a handle whose encoding or length does not
/// fit the run is refused with a message naming both.
/// </summary>
public sealed class CompressedWireTests
{
    private static readonly TensorBufferPool Pool = new(maxRetainedBytes: 0);
    private static readonly float[] Statistics = [0.25f, -3.5e-7f, 1e30f, float.Epsilon, 7f];

    private static float[] Buffer(float[] gradient) => [.. gradient, .. Statistics];

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var same = float.IsNaN(expected[i]) ? float.IsNaN(actual[i]) : BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]);
            Assert.True(same, $"{what}, element {i}: {expected[i]:R} came back as {actual[i]:R}");
        }
    }

    [Fact]
    public void Every_fp16_value_packs_to_its_IEEE_half_code_and_unpacks_to_the_same_float()
    {
        // All 65536 half codes, as the floats System.Half says they are: normals, subnormals, ±0, ±infinity, NaNs.
        var codes = Enumerable.Range(0, 1 << 16).Select(c => (ushort)c).ToArray();
        var gradient = codes.Select(c => (float)BitConverter.UInt16BitsToHalf(c)).ToArray();
        var buffer = Buffer(gradient);

        var wire = GradientEncoding.Encode(buffer, gradient.Length, GradientCompression.Float16, Pool);

        Assert.Equal(gradient.Length / 2 + Statistics.Length, wire.Length);
        var packed = MemoryMarshal.Cast<float, ushort>(wire.AsSpan(0, gradient.Length / 2));
        for (var i = 0; i < codes.Length; i++)
        {
            var isNaN = Half.IsNaN(BitConverter.UInt16BitsToHalf(codes[i]));
            Assert.True(isNaN ? Half.IsNaN(BitConverter.UInt16BitsToHalf(packed[i])) : packed[i] == codes[i], $"code {codes[i]:x4} packed as {packed[i]:x4}");
        }
        AssertSameBits(buffer, GradientEncoding.Decode(wire, buffer.Length, gradient.Length, GradientCompression.Float16, Pool), "fp16 round trip");
    }

    [Theory]
    [InlineData(GradientCompression.Float16)]
    [InlineData(GradientCompression.BFloat16)]
    public void A_compressed_gradient_of_odd_length_round_trips_exactly_with_its_statistics_untouched(GradientCompression compression)
    {
        var random = new Random(5);
        var raw = Enumerable.Range(0, 4_097).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, -random.Next(0, 9)))).ToArray();
        raw[7] = float.NaN;
        raw[4_096] = float.NegativeInfinity; // the last, unpaired value
        var gradient = new float[raw.Length];
        new GradientCompressor(compression, raw.Length).Compress(raw, gradient);
        var buffer = Buffer(gradient);

        var wire = GradientEncoding.Encode(buffer, gradient.Length, compression, Pool);
        var decoded = GradientEncoding.Decode(wire, buffer.Length, gradient.Length, compression, Pool);

        Assert.Equal(2_049 + Statistics.Length, wire.Length);
        AssertSameBits(buffer, decoded, $"{compression} round trip");
    }

    [Theory]
    [InlineData(GradientCompression.None, 270_810, 269_434, 270_810)]
    [InlineData(GradientCompression.Float16, 270_810, 269_434, 134_717 + 1_376)]
    [InlineData(GradientCompression.BFloat16, 11, 5, 3 + 6)]
    public void The_wire_carries_half_the_gradient_floats_and_every_statistic(GradientCompression compression, int state, int parameters, int wire) =>
        Assert.Equal(wire, GradientEncoding.WireLength(compression, state, parameters));

    [Theory]
    [InlineData(GradientCompression.None, GradientCompression.BFloat16, 1_000, "encoded as none, but this run compresses gradients as bf16")]
    [InlineData(GradientCompression.Float16, GradientCompression.BFloat16, 1_000, "encoded as fp16, but this run compresses gradients as bf16")]
    [InlineData(GradientCompression.BFloat16, GradientCompression.None, 1_000, "encoded as bf16, but this run compresses gradients as none")]
    [InlineData(GradientCompression.Float16, GradientCompression.Float16, 1_000, "announces 1000 floats; this model's result (1000 state values, 900 of them gradient) in fp16 has 550")]
    [InlineData(GradientCompression.Float16, GradientCompression.Float16, 550, null)]
    [InlineData(GradientCompression.None, GradientCompression.None, 1_000, null)]
    [InlineData(GradientCompression.None, GradientCompression.None, 999, null)] // uncompressed lengths are TensorHandleCheck's, as before
    public void A_result_handle_must_carry_the_runs_encoding_and_the_length_that_follows_from_it(GradientCompression sent, GradientCompression expected, int length, string? problem)
    {
        var found = GradientEncoding.Problem(new TensorHandle("10.0.0.1", 4100, 1, length, sent), expected, 1_000, 900);
        if (problem is null) Assert.Null(found);
        else Assert.Contains(problem, found);
    }

    [Fact]
    public void A_compressed_handle_from_a_worker_that_did_not_say_its_parameter_count_is_refused()
    {
        var found = GradientEncoding.Problem(new TensorHandle("10.0.0.1", 4100, 1, 500, GradientCompression.BFloat16), GradientCompression.BFloat16, 1_000, 0);
        Assert.Contains("the worker reported 0 parameters for a state of 1000", found);
    }

    [Fact]
    public void Decoding_an_array_of_the_wrong_length_names_both_lengths()
    {
        var error = Assert.Throws<ArgumentException>(() => GradientEncoding.Decode(new float[600], 1_000, 900, GradientCompression.BFloat16, Pool));
        Assert.Contains("is 550 wire floats, got 600", error.Message);
    }

    [Fact]
    public async Task Over_the_channel_a_packed_gradient_moves_half_the_bytes_and_decodes_to_the_rounded_values()
    {
        await using var worker = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        await using var coordinator = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
        var random = new Random(9);
        var raw = Enumerable.Range(0, 269_434).Select(_ => (float)(random.NextDouble() - 0.5) * 1e-3f).ToArray();
        var gradient = new float[raw.Length];
        new GradientCompressor(GradientCompression.Float16, raw.Length).Compress(raw, gradient);
        var buffer = Buffer(gradient);

        var wire = GradientEncoding.Encode(buffer, gradient.Length, GradientCompression.Float16, worker.Buffers);
        var handle = worker.Publish(wire, recycle: true) with { Encoding = GradientCompression.Float16 };
        Assert.Null(GradientEncoding.Problem(handle, GradientCompression.Float16, buffer.Length, gradient.Length));
        var fetched = await coordinator.FetchAsync(handle, GradientEncoding.WireLength(GradientCompression.Float16, buffer.Length, gradient.Length));
        var decoded = GradientEncoding.Decode(fetched, buffer.Length, gradient.Length, GradientCompression.Float16, coordinator.Buffers);

        Assert.Equal(134_717 + Statistics.Length, handle.Length);
        Assert.True((double)handle.Length / buffer.Length < 0.51, $"{handle.Length} wire floats for a buffer of {buffer.Length}");
        AssertSameBits(buffer, decoded, "fp16 over the channel");
    }
}
