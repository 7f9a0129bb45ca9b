using Distributed.Model.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using Distributed.Protocol;

namespace Distributed.Model.Nets;

/// <summary>
/// A model whose parameters, running statistics and gradients live in two pinned managed arrays:
/// <see cref="State"/> ([parameters | running statistics]) and <see cref="Gradients"/>. Every tensor of the
/// module is a view into them, so loading weights or exporting gradients is one memory copy with no
/// per-tensor work, and the arrays can be handed to the transport directly.
/// </summary>
public sealed class FlatReplica : IDisposable
{
    private readonly Tensor _stateTensor;
    private readonly Tensor _gradientTensor;

    public FlatReplica(ModelSpec spec, int seed)
    {
        TorchRuntime.Initialize();
        Model = new CifarResNet(spec, seed);
        var slices = new List<ParameterSlice>();
        var trainable = new List<(Tensor Tensor, ParameterSlice Slice)>();
        var statistics = new List<(Tensor Tensor, ParameterSlice Slice)>();
        var offset = 0;
        foreach (var (name, parameter) in Model.named_parameters())
        {
            var slice = new ParameterSlice(name, KindOf(name, parameter), offset, checked((int)parameter.numel()), parameter.shape);
            trainable.Add((parameter, slice));
            offset += slice.Length;
        }
        foreach (var (name, buffer) in Model.named_buffers())
        {
            if (buffer.dtype != ScalarType.Float32) continue; // num_batches_tracked: unused with a fixed momentum
            var kind = name.EndsWith("running_mean", StringComparison.Ordinal) ? SliceKind.RunningMean : SliceKind.RunningVar;
            var slice = new ParameterSlice(name, kind, offset, checked((int)buffer.numel()), buffer.shape);
            statistics.Add((buffer, slice));
            offset += slice.Length;
        }
        Layout = new ParameterLayout(trainable.Concat(statistics).Select(t => t.Slice).ToList());
        State = GC.AllocateArray<float>(Layout.StateLength, pinned: true);
        Gradients = GC.AllocateArray<float>(Layout.ParameterCount, pinned: true);
        _stateTensor = torch.frombuffer(State, ScalarType.Float32);
        _gradientTensor = torch.frombuffer(Gradients, ScalarType.Float32);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (tensor, slice) in trainable.Concat(statistics))
        {
            var view = _stateTensor.narrow(0, slice.Offset, slice.Length).view(slice.Shape);
            view.copy_(tensor);
            tensor.set_(view);
        }
        foreach (var (tensor, slice) in trainable)
        {
            tensor.grad = _gradientTensor.narrow(0, slice.Offset, slice.Length).view(slice.Shape);
        }
    }

    public CifarResNet Model { get; }
    public ParameterLayout Layout { get; }

    /// <summary>[trainable parameters | running statistics]; writing here changes the model.</summary>
    public float[] State { get; }

    /// <summary>Gradients of the trainable parameters; backward accumulates into it, so clear it before each step.</summary>
    public float[] Gradients { get; }

    public void LoadState(ReadOnlySpan<float> state)
    {
        if (state.Length != State.Length)
            throw new ArgumentException($"state has {state.Length} values, the model {Model.Spec.Name} needs {State.Length}");
        state.CopyTo(State);
    }

    public void ZeroGradients() => Array.Clear(Gradients);

    private static SliceKind KindOf(string name, Tensor parameter)
    {
        var isBias = name.EndsWith("bias", StringComparison.Ordinal);
        var isNorm = name.Contains("norm", StringComparison.Ordinal);
        return (isNorm, isBias) switch
        {
            (true, true) => SliceKind.NormShift,
            (true, false) => SliceKind.NormScale,
            (false, true) => SliceKind.Bias,
            _ => parameter.dim() == 1 ? SliceKind.NormScale : SliceKind.Weight,
        };
    }

    public void Dispose()
    {
        Model.Dispose();
        _stateTensor.Dispose();
        _gradientTensor.Dispose();
    }
}
