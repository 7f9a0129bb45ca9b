using System.Diagnostics;
using Distributed.Model.Nets;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distributed.Model.GradientHealth;

/// <summary>
/// Measures every rectifier of a <see cref="CifarResNet"/> during one ordinary training forward pass, through
/// forward hooks on its blocks, so a health step costs a few reductions rather than a second pass. A block's
/// input is the previous rectifier's output (the stem's, for the first block); its output is its final
/// rectifier's; its inner rectifier's input is norm1(conv1(input)), recomputed here without gradient. Batch
/// norm's running statistics are restored after that recomputation, so the step's result is unchanged.
/// Dispose removes the hooks.
/// </summary>
public sealed class LiveActivationCapture : IDisposable
{
    private readonly List<Action> _removeHooks = [];
    private readonly List<(string Layer, LiveActivationStatistics Statistics)> _layers = [];
    private readonly Stopwatch _elapsed = new();

    private LiveActivationCapture(CifarResNet model)
    {
        var first = true;
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not BasicBlock block) continue;
            var children = block.named_children().ToDictionary(c => c.name, c => c.module);
            var conv1 = (nn.Module<Tensor, Tensor>)children["conv1"];
            var norm1 = (nn.Module<Tensor, Tensor>)children["norm1"];
            var isFirst = first;
            first = false;
            var pre = block.register_forward_pre_hook((_, input) =>
            {
                Measure(() =>
                {
                    if (isFirst) Record("stem.relu", input);
                    Record($"{name}.relu1", InnerPreActivation(conv1, norm1, input));
                });
                return null!;
            });
            var post = block.register_forward_hook((_, _, output) =>
            {
                Measure(() => Record($"{name}.relu2", output));
                return null!;
            });
            _removeHooks.Add(pre.remove);
            _removeHooks.Add(post.remove);
        }
    }

    public static LiveActivationCapture Attach(CifarResNet model) => new(model);

    /// <summary>Rectifier layers in forward order, as measured by the last forward pass.</summary>
    public IReadOnlyList<(string Layer, LiveActivationStatistics Statistics)> Layers => _layers;

    /// <summary>Time spent measuring inside the forward pass (the overhead of a health step's capture).</summary>
    public TimeSpan Elapsed => _elapsed.Elapsed;

    private void Measure(Action measure)
    {
        _elapsed.Start();
        try
        {
            // Temporaries (the recomputed convolution) go now, not at the end of the training step.
            using var scope = NewDisposeScope();
            measure();
        }
        finally { _elapsed.Stop(); }
    }

    private void Record(string layer, Tensor preActivation) => _layers.Add((layer, LiveActivationStatistics.Measure(preActivation)));

    private static Tensor InnerPreActivation(nn.Module<Tensor, Tensor> conv1, nn.Module<Tensor, Tensor> norm1, Tensor input)
    {
        using var noGrad = no_grad();
        if (norm1 is not BatchNorm2d batchNorm) return norm1.forward(conv1.forward(input));
        using var mean = batchNorm.running_mean!.clone();
        using var variance = batchNorm.running_var!.clone();
        var result = norm1.forward(conv1.forward(input));
        batchNorm.running_mean.copy_(mean);
        batchNorm.running_var!.copy_(variance);
        return result;
    }

    public void Dispose()
    {
        foreach (var remove in _removeHooks) remove();
        _removeHooks.Clear();
    }
}
