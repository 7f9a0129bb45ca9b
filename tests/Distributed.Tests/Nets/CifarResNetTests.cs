using Distributed.Model.Nets;
using Distributed.Protocol;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Tests.Nets;

public sealed class CifarResNetTests
{
    [Fact]
    public void ResNet20_and_its_plain_twin_have_the_same_269434_parameters()
    {
        using var resnet = new FlatReplica(ModelSpec.ResNet20FashionMnist, 1);
        using var plain = new FlatReplica(ModelSpec.ResNet20FashionMnist with { Architecture = Architecture.Plain }, 1);
        // Stem 144 + stages 13,824 + 50,688 + 202,752 + classifier 650 + 19 batch norms 1,376 (parameter-free "option A" shortcuts).
        Assert.Equal(269_434, resnet.Layout.ParameterCount);
        Assert.Equal(resnet.Layout.ParameterCount, plain.Layout.ParameterCount);
        Assert.Equal(1_376, resnet.Layout.RunningStatisticsLength);
    }

    [Theory]
    [InlineData(21)]
    [InlineData(2)]
    public void A_depth_that_is_not_6n_plus_2_is_refused_with_a_message_naming_it(int depth)
    {
        var error = Assert.Throws<ArgumentException>(() => new CifarResNet(ModelSpec.ResNet20FashionMnist with { Depth = depth }));
        Assert.Contains($"depth {depth}", error.Message);
    }

    [Theory]
    [InlineData(1, 28, NormKind.Batch)]
    [InlineData(3, 32, NormKind.Group)]
    [InlineData(3, 32, NormKind.None)]
    public void The_network_classifies_any_input_size_into_class_scores(int channels, int size, NormKind norm)
    {
        using var model = new CifarResNet(new ModelSpec(Architecture.Residual, 8, 2, norm, channels, size, size, 10));
        using var scope = NewDisposeScope();
        var logits = model.forward(randn(3, channels, size, size));
        Assert.Equal(new long[] { 3, 10 }, logits.shape);
    }

    [Fact]
    public void Backward_writes_gradients_into_the_flat_buffer_and_loading_state_changes_the_model()
    {
        using var replica = new FlatReplica(new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10), 3);
        using var scope = NewDisposeScope();
        var input = randn(4, 1, 28, 28);
        replica.Model.train();
        var loss = nn.functional.cross_entropy(replica.Model.forward(input), tensor(new long[] { 0, 1, 2, 3 }));
        replica.ZeroGradients();
        loss.backward();
        Assert.True(replica.Gradients.Count(g => g != 0) > replica.Gradients.Length / 2, "gradients did not land in the flat buffer");
        Assert.NotEqual(0f, replica.State[replica.Layout.ParameterCount..].Sum());

        replica.Model.eval();
        var before = replica.Model.forward(input).sum().item<float>();
        var doubled = replica.State.Select(v => v * 2).ToArray();
        replica.LoadState(doubled);
        var after = replica.Model.forward(input).sum().item<float>();
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void Zero_initialising_the_last_norm_makes_every_residual_block_start_as_the_identity()
    {
        var spec = new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10, ZeroInitLastNorm: true);
        using var model = new CifarResNet(spec);
        model.eval();
        using var scope = NewDisposeScope();
        var block = model.Blocks.First();
        var input = rand(2, 16, 7, 7);
        Assert.True(block.forward(input).allclose(input));
    }

    [Fact]
    public void Weight_decay_applies_to_convolution_and_linear_weights_only()
    {
        using var replica = new FlatReplica(ModelSpec.ResNet20FashionMnist, 1);
        var decayed = replica.Layout.Trainable.Where(s => s.IsDecayed).ToList();
        Assert.All(decayed, slice => Assert.True(slice.Shape.Length is 2 or 4, $"{slice.Name} is decayed"));
        Assert.Equal(268_048, decayed.Sum(s => s.Length));
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_weights_even_while_other_threads_draw_random_numbers()
    {
        var spec = new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10);
        using var reference = new FlatReplica(spec, 42);
        using var stop = new CancellationTokenSource();
        var noise = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                torch.manual_seed(7);
                using var scope = NewDisposeScope();
                randn(1000);
            }
        });
        using var again = new FlatReplica(spec, 42);
        using var otherSeed = new FlatReplica(spec, 43);
        stop.Cancel();
        await noise;

        Assert.Equal(reference.State, again.State);
        Assert.NotEqual(reference.State, otherSeed.State);
    }
}
