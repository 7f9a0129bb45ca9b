using Distributed.Model.Nets;
using Distributed.Protocol;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Tests.Nets;

public sealed class ComputeNetTests
{
    private static readonly ModelSpec Spec = new(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10);

    [Fact]
    public void In_fp32_with_default_strides_the_step_runs_on_the_replica_itself()
    {
        using var replica = new FlatReplica(Spec, 3);
        using var net = new ComputeNet(replica);
        Assert.Same(replica.Model, net.Model);
    }

    /// <summary>
    /// Channels-last strides only reorder summations, so the activations match fp32 to float rounding (4–8e-6
    /// relative), but that rounding flips the sign of the odd ReLU input (1–3 of 800,000), and each flip moves that
    /// element's gradient by all of it: with one libtorch thread the first gradient then differs by 7.8e-3 and the
    /// second, after a step on the first, by 3.5e-2 (with two threads, by 1e-6: no flip). The forward pass checks the
    /// copying in of weights to rounding (<see cref="The_first_forward_pass_of_a_copy_gives_the_fp32_logits_to_float_rounding"/>).
    /// bf16 keeps 8 bits of mantissa: on a random-init net with a batch of 8 noise images, whose weight gradients are
    /// small sums of large terms that cancel, the gradient then differs by 0.13-0.16 relative L2 from fp32 (still
    /// pointing the same way); the weights after two steps differ far less.
    /// </summary>
    [Theory]
    [InlineData(Precision.Float32, true, 0.1, 1e-3)]
    [InlineData(Precision.BFloat16, false, 0.25, 1e-3)]
    [InlineData(Precision.BFloat16, true, 0.25, 1e-3)]
    [InlineData(Precision.BFloat16, true, 0.25, 1e-3, NormKind.Group)]
    [InlineData(Precision.BFloat16, false, 0.25, 5e-3, NormKind.Batch, true)] // running statistics pass through bf16
    [InlineData(Precision.BFloat16, false, 0.25, 1e-3, NormKind.Group, true)]
    public void A_copy_in_another_precision_or_layout_gives_the_fp32_gradient_and_running_statistics_within_its_rounding(
        Precision precision, bool channelsLast, double gradientTolerance, double stateTolerance, NormKind norm = NormKind.Batch,
        bool normInComputePrecision = false)
    {
        var spec = Spec with { Norm = norm };
        var (referenceGradient, referenceState) = Step(spec, 2, false);
        var (gradient, state) = Step(spec with { Precision = precision, ChannelsLast = channelsLast }, 2, normInComputePrecision);

        var gradientDifference = RelativeDifference(referenceGradient, gradient);
        var stateDifference = RelativeDifference(referenceState, state);
        var message = $"gradient differs by {gradientDifference:E2} relative, state (weights and running statistics) by {stateDifference:E2}";
        Assert.True(gradientDifference < gradientTolerance, message);
        Assert.True(stateDifference < stateTolerance, message);
        Assert.True(CosineSimilarity(referenceGradient, gradient) > 0.95, message);
    }

    [Fact]
    public void The_first_forward_pass_of_a_copy_gives_the_fp32_logits_to_float_rounding()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        var images = randn([8, 1, 28, 28], generator: generator);
        using var replica = new FlatReplica(Spec, 3);
        using var copyReplica = new FlatReplica(Spec with { ChannelsLast = true }, 3);
        using var copy = new ComputeNet(copyReplica);
        replica.Model.train();
        copy.Model.train();
        var expected = replica.Model.forward(images);
        var actual = copy.Forward(images);
        var difference = ((actual - expected).norm() / expected.norm()).item<float>();
        Assert.True(difference < 1e-5, $"logits differ by {difference:E2} relative");
    }

    [Fact]
    public void ChannelsLast_of_a_one_channel_view_into_a_larger_batch_keeps_its_values()
    {
        using var scope = NewDisposeScope();
        var batch = arange(3 * 1 * 4 * 5, dtype: ScalarType.Float32).reshape(3, 1, 4, 5);
        var second = batch[1..3];
        var nhwc = ComputeNet.ChannelsLast(second);
        Assert.Equal(0f, (nhwc - second).abs().max().item<float>());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    public void ChannelsLast_gives_NHWC_strides_and_the_same_values_for_any_channel_count(int channels)
    {
        using var scope = NewDisposeScope();
        var x = arange(2 * channels * 4 * 5, dtype: ScalarType.Float32).reshape(2, channels, 4, 5);
        var nhwc = ComputeNet.ChannelsLast(x);
        Assert.Equal([4 * 5 * channels, 1, 5 * channels, channels], nhwc.stride());
        Assert.Equal(x.shape, nhwc.shape);
        Assert.Equal(0f, (nhwc - x).abs().max().item<float>());
    }

    /// <summary>
    /// With one-channel images the stem once ran NCHW (its input and weights kept NCHW strides), and every residual sum
    /// after it took that layout, which made channels-last slower than NCHW (bench/README.md). Each block's output has
    /// to come out NHWC for the layout to pay.
    /// </summary>
    [Theory]
    [InlineData(Precision.Float32)]
    [InlineData(Precision.BFloat16)]
    public void A_channels_last_copy_keeps_every_block_output_in_NHWC_from_one_channel_images(Precision precision)
    {
        using var replica = new FlatReplica(Spec with { Precision = precision, ChannelsLast = true }, 3);
        using var net = new ComputeNet(replica);
        var strides = new List<(long Channels, long[] Stride)>();
        var hooks = net.Model.Blocks
            .Select(block => block.register_forward_hook((_, _, output) =>
            {
                strides.Add((output.shape[1], output.stride()));
                return output;
            }))
            .ToList();
        using var scope = NewDisposeScope();
        net.Model.train();
        net.Forward(randn(4, 1, 28, 28));
        foreach (var hook in hooks) hook.remove();

        Assert.Equal(net.Model.Blocks.Count(), strides.Count);
        Assert.All(strides, s => Assert.True(s.Stride[1] == 1 && s.Stride[3] == s.Channels,
            $"block output with {s.Channels} channels has strides ({string.Join(", ", s.Stride)}), not NHWC"));
    }

    /// <summary>Runs <paramref name="steps"/> steps on the same data (reloading changed weights in between) and returns the last gradient and the state.</summary>
    private static (float[] Gradient, float[] State) Step(ModelSpec spec, int steps, bool normInComputePrecision)
    {
        using var replica = new FlatReplica(spec, 3);
        using var net = new ComputeNet(replica, normInComputePrecision);
        using var generator = new Generator(11);
        using var scope = NewDisposeScope();
        var images = randn([8, 1, 28, 28], generator: generator);
        var labels = tensor(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 });
        for (var step = 0; step < steps; step++)
        {
            replica.ZeroGradients();
            net.Model.train();
            var loss = nn.functional.cross_entropy(net.Forward(images), labels);
            loss.backward();
            net.CollectGradients();
            // A plain SGD step on the flat state, as the parameter server would apply it.
            var next = replica.State.ToArray();
            for (var i = 0; i < replica.Gradients.Length; i++) next[i] -= 0.1f * replica.Gradients[i];
            replica.LoadState(next);
        }
        return (replica.Gradients.ToArray(), replica.State.ToArray());
    }

    private static double CosineSimilarity(float[] a, float[] b)
    {
        double dot = 0, normA = 0, normB = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            normA += (double)a[i] * a[i];
            normB += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(normA * normB);
    }

    private static double RelativeDifference(float[] expected, float[] actual)
    {
        double difference = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            difference += Math.Pow(expected[i] - actual[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        return Math.Sqrt(difference / norm);
    }
}
