using Distributed.Protocol;
using Distributed.Worker;
using TorchSharp;

namespace Distributed.Tests.Compression;

/// <summary>
/// The worker's rounding with error feedback: every value lands on the 16-bit grid, the residual carries what was
/// dropped, and over many steps the sum of what was sent tracks the sum of the true gradients.
/// </summary>
public sealed class GradientCompressorTests
{
    /// <summary>Gradient-like values over many magnitudes, both signs, a length that leaves a scalar tail after the vector lanes.</summary>
    private static float[] Gradient(int seed, int length = 10_007, float scale = 1e-2f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (var i = 0; i < length; i++)
            values[i] = (float)((random.NextDouble() * 2 - 1) * scale * Math.Pow(10, -random.Next(0, 6)));
        return values;
    }

    private static float[] Compress(GradientCompressor compressor, float[] gradient)
    {
        var sent = new float[gradient.Length];
        compressor.Compress(gradient, sent);
        return sent;
    }

    [Fact]
    public void Compress_none_sends_the_gradient_unchanged_and_keeps_no_residual()
    {
        var compressor = new GradientCompressor(GradientCompression.None, 10_007);
        var gradient = Gradient(1);
        Assert.Equal(gradient, Compress(compressor, gradient));
        Assert.Equal(gradient, Compress(compressor, gradient));
        Assert.True(compressor.Residual.IsEmpty);
    }

    [Theory]
    [InlineData(GradientCompression.Float16)]
    [InlineData(GradientCompression.BFloat16)]
    public void Compress_rounds_to_the_nearest_16_bit_value_as_libtorch_does_and_keeps_the_difference(GradientCompression compression)
    {
        var gradient = Gradient(2);
        // Values that are ties in either format, sit at half's subnormal grid and at the edge of its normal range.
        gradient[0] = 1f + MathF.Pow(2, -11);      // fp16 tie: stays 1 (even)
        gradient[1] = 1f + 3 * MathF.Pow(2, -11);  // fp16 tie: rounds up to the even neighbour
        gradient[2] = 1f + MathF.Pow(2, -8);       // bf16 tie
        gradient[3] = 3e-6f;                       // fp16 subnormal
        gradient[4] = -5.9e-5f;                    // just below half's smallest normal
        gradient[5] = 65_000f;
        var compressor = new GradientCompressor(compression, gradient.Length);
        var sent = Compress(compressor, gradient);

        using var reference = torch.tensor(gradient).to(compression == GradientCompression.Float16 ? torch.ScalarType.Float16 : torch.ScalarType.BFloat16)
            .to(torch.ScalarType.Float32);
        var expected = reference.data<float>().ToArray();
        for (var i = 0; i < gradient.Length; i++)
        {
            Assert.True(expected[i] == sent[i], $"element {i}: {gradient[i]:R} sent as {sent[i]:R}, libtorch rounds it to {expected[i]:R}");
            Assert.Equal(gradient[i] - sent[i], compressor.Residual[i]);
        }
    }

    /// <summary>Half of one 16-bit step at <paramref name="value"/>: the most rounding to nearest may move it.</summary>
    private static double HalfStep(GradientCompression compression, float value) => compression == GradientCompression.Float16
        ? Math.Max(Math.Abs(value) * Math.Pow(2, -11), Math.Pow(2, -25)) // below 2^-14 the half grid is a fixed 2^-24
        : Math.Abs(value) * Math.Pow(2, -8);

    [Theory]
    [InlineData(GradientCompression.Float16, 1e-2f)]
    [InlineData(GradientCompression.BFloat16, 1e-2f)]
    [InlineData(GradientCompression.Float16, 1e-6f)] // mostly below half's normal range: such values get through only by the residual
    public void With_error_feedback_the_sum_of_what_was_sent_stays_within_one_rounding_step_of_the_sum_of_true_gradients(GradientCompression compression, float scale)
    {
        const int length = 4_099;
        var compressor = new GradientCompressor(compression, length);
        var trueSum = new double[length];
        var sentSum = new double[length];
        var unfedSum = new double[length];
        for (var step = 0; step < 300; step++)
        {
            var gradient = Gradient(100 + step, length, scale);
            var target = new float[length];
            for (var i = 0; i < length; i++) target[i] = gradient[i] + compressor.Residual[i];
            var sent = Compress(compressor, gradient);
            for (var i = 0; i < length; i++)
            {
                Assert.True(Math.Abs(compressor.Residual[i]) <= HalfStep(compression, target[i]),
                    $"step {step} element {i}: {target[i]:R} sent as {sent[i]:R}, more than half a step away");
                trueSum[i] += gradient[i];
                sentSum[i] += sent[i];
                unfedSum[i] += compression == GradientCompression.Float16 ? GradientCompressor.RoundToFloat16(gradient[i]) : GradientCompressor.RoundToBFloat16(gradient[i]);
            }
        }
        double worstFed = 0, worstUnfed = 0;
        for (var i = 0; i < length; i++)
        {
            // What has not been sent yet is exactly the residual (up to float summation error), which is one rounding step at most.
            Assert.True(Math.Abs(trueSum[i] - sentSum[i] - compressor.Residual[i]) <= 1e-6 * Math.Max(Math.Abs(trueSum[i]), scale),
                $"element {i}: true sum {trueSum[i]:G9}, sent {sentSum[i]:G9}, residual {compressor.Residual[i]:G9}");
            worstFed = Math.Max(worstFed, Math.Abs(trueSum[i] - sentSum[i]));
            worstUnfed = Math.Max(worstUnfed, Math.Abs(trueSum[i] - unfedSum[i]));
        }
        // Without feedback the rounding errors of 300 steps pile up; with it they do not.
        Assert.True(worstFed * 4 < worstUnfed, $"error feedback: worst gap {worstFed:G4}; plain rounding: {worstUnfed:G4}");
    }

    [Theory]
    [InlineData(GradientCompression.Float16)]
    [InlineData(GradientCompression.BFloat16)]
    public void A_NaN_or_infinite_gradient_is_sent_as_it_is_and_leaves_no_residual_behind(GradientCompression compression)
    {
        var gradient = Gradient(3, 64);
        gradient[5] = float.NaN;
        gradient[17] = float.PositiveInfinity;
        gradient[63] = float.NegativeInfinity; // the scalar tail on any vector width
        var compressor = new GradientCompressor(compression, gradient.Length);
        var sent = Compress(compressor, gradient);
        Assert.True(float.IsNaN(sent[5]));
        Assert.Equal(float.PositiveInfinity, sent[17]);
        Assert.Equal(float.NegativeInfinity, sent[63]);
        foreach (var i in new[] { 5, 17, 63 }) Assert.Equal(0f, compressor.Residual[i]);

        // The next, finite gradient goes out finite: the NaN did not poison the residual.
        var next = Compress(compressor, Gradient(4, 64));
        Assert.All(next, value => Assert.True(float.IsFinite(value)));
    }

    [Fact]
    public void Fp16_clamps_finite_values_beyond_its_range_instead_of_sending_infinity_and_sends_the_excess_later()
    {
        var compressor = new GradientCompressor(GradientCompression.Float16, 20);
        var gradient = new float[20];
        gradient[3] = 100_000f;
        gradient[19] = -70_000f; // scalar tail
        var sent = Compress(compressor, gradient);
        Assert.Equal(GradientCompressor.MaxFloat16, sent[3]);
        Assert.Equal(-GradientCompressor.MaxFloat16, sent[19]);
        Assert.Equal(100_000f - 65_504f, compressor.Residual[3]);
        Assert.Equal(-70_000f + 65_504f, compressor.Residual[19]);

        var later = Compress(compressor, new float[20]);
        Assert.Equal(100_000f - 65_504f, later[3]);
        Assert.Equal(-70_000f + 65_504f, later[19]);
    }

    [Fact]
    public void Bf16_never_rounds_a_finite_value_up_to_infinity()
    {
        Assert.Equal(GradientCompressor.MaxBFloat16, GradientCompressor.RoundToBFloat16(float.MaxValue));
        var compressor = new GradientCompressor(GradientCompression.BFloat16, 16);
        var gradient = Enumerable.Repeat(-float.MaxValue, 16).ToArray();
        Assert.All(Compress(compressor, gradient), value => Assert.Equal(-GradientCompressor.MaxBFloat16, value));
    }

    [Fact]
    public void A_gradient_of_the_wrong_length_or_an_unknown_compression_is_refused_with_its_sizes()
    {
        var compressor = new GradientCompressor(GradientCompression.BFloat16, 10);
        var error = Assert.Throws<ArgumentException>(() => compressor.Compress(new float[9], new float[9]));
        Assert.Contains("gradient of 9", error.Message);
        Assert.Contains("10 parameters", error.Message);
        Assert.Contains("not one of: none, fp16, bf16", Assert.Throws<ArgumentException>(() => new GradientCompressor((GradientCompression)7, 10)).Message);
    }
}
