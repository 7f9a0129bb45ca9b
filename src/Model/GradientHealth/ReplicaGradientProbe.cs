using Distributed.Model.Nets;
using Distributed.Protocol;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Model.GradientHealth;

/// <summary>The loss on a probe batch and ‖∂L/∂W‖ of every weight layer for one set of weights.</summary>
public sealed record GradientProbeResult(double Loss, IReadOnlyList<ParameterGradientNorm> Norms);

/// <summary>
/// Per-layer weight-gradient norms of a CIFAR-style network on one fixed batch, for any weights the trainer
/// produces (initial, end of an epoch): a <see cref="FlatReplica"/> is loaded with the flat state, the batch goes
/// forward in training mode (batch norm normalises with the batch's statistics, as in a training step) and the
/// mean cross-entropy goes backward. The batch and the replica are built once, so the norms of successive states
/// differ only because the weights do.
/// </summary>
public sealed class ReplicaGradientProbe : IDisposable
{
    private readonly FlatReplica _replica;
    private readonly Tensor _images;
    private readonly Tensor _labels;

    /// <param name="images">NCHW normalised images; copied, so the caller's buffer may be reused.</param>
    /// <param name="labels">Class indices, one per image.</param>
    public ReplicaGradientProbe(ModelSpec spec, float[] images, long[] labels)
    {
        var sampleSize = spec.InputChannels * spec.ImageHeight * spec.ImageWidth;
        if (labels.Length == 0 || images.Length != labels.Length * sampleSize)
            throw new ArgumentException($"a probe batch of {labels.Length} labels needs {labels.Length * sampleSize} pixel values, got {images.Length}");
        _replica = new FlatReplica(spec, seed: 0); // the weights are always overwritten by Measure
        _images = tensor(images).view(labels.Length, spec.InputChannels, spec.ImageHeight, spec.ImageWidth);
        _labels = tensor(labels);
    }

    public int BatchSize => (int)_labels.shape[0];

    /// <param name="state">A full [parameters | running statistics] state of the probe's model.</param>
    public GradientProbeResult Measure(ReadOnlySpan<float> state)
    {
        _replica.LoadState(state);
        _replica.ZeroGradients();
        _replica.Model.train();
        double loss;
        using (var scope = NewDisposeScope())
        {
            var output = nn.functional.cross_entropy(_replica.Model.forward(_images), _labels);
            output.backward();
            loss = output.item<float>();
        }
        return new GradientProbeResult(loss, WeightGradientNorms.Measure(_replica.Model));
    }

    public void Dispose()
    {
        _replica.Dispose();
        _images.Dispose();
        _labels.Dispose();
    }
}
