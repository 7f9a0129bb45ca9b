using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using Distributed.Protocol;

namespace Distributed.Model.Nets;

/// <summary>
/// The network a worker runs its training step on. In fp32 with default strides that is the replica's own model,
/// so the step is exactly what it always was. Otherwise it is a copy whose convolutions and classifier compute in
/// bf16 and/or with channels-last (NHWC) strides, which libtorch's oneDNN kernels run faster on AVX512-BF16 CPUs
/// (bench/README.md, per-thread compute). The copy's normalization layers share the replica's fp32 parameters,
/// running statistics and gradient slices, so they stay fp32 and need no copying; the other weights are copied in
/// from the replica's fp32 state before each step and their gradients copied back (to fp32) after it.
/// </summary>
public sealed class ComputeNet : IDisposable
{
    private readonly CifarResNet? _copy;
    private readonly List<(Tensor Master, Tensor MasterGradient, Tensor Compute, Tensor ComputeGradient)> _copied = [];
    private readonly List<(Tensor Master, Tensor Compute)> _statistics = [];
    private readonly ScalarType _dtype;
    private readonly bool _channelsLast;

    /// <param name="normInComputePrecision">
    /// Run normalization layers in the compute precision too (their weights and running statistics copied in and
    /// out like the rest) instead of sharing the replica's fp32 ones.
    /// </param>
    /// <param name="precision">Compute in this precision instead of the replica's spec's (an fp32 channels-last copy for evaluation).</param>
    public ComputeNet(FlatReplica replica, bool normInComputePrecision = false, Precision? precision = null)
    {
        var spec = replica.Model.Spec with { Precision = precision ?? replica.Model.Spec.Precision };
        _dtype = spec.Precision == Precision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        _channelsLast = spec.ChannelsLast;
        if (!IsCopy(spec))
        {
            Model = replica.Model;
            return;
        }

        _copy = new CifarResNet(spec, seed: 0); // every weight is overwritten from the replica
        var masterParameters = replica.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var masterBuffers = replica.Model.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        var shared = new HashSet<string>();
        using var noGrad = no_grad();
        foreach (var (name, module) in _copy.named_modules())
        {
            switch (module)
            {
                case BatchNorm2d or GroupNorm when !normInComputePrecision:
                    foreach (var (parameterName, parameter) in module.named_parameters())
                    {
                        var master = masterParameters[$"{name}.{parameterName}"];
                        parameter.set_(master);
                        parameter.grad = master.grad;
                        shared.Add($"{name}.{parameterName}");
                    }
                    foreach (var (bufferName, buffer) in module.named_buffers())
                        if (buffer.dtype == ScalarType.Float32) buffer.set_(masterBuffers[$"{name}.{bufferName}"]);
                    break;
                case Conv2d or Linear or BatchNorm2d or GroupNorm when _dtype != ScalarType.Float32:
                    module.to(_dtype);
                    break;
            }
        }
        if (normInComputePrecision)
        {
            foreach (var (name, buffer) in _copy.named_buffers())
                if (masterBuffers[name].dtype == ScalarType.Float32) _statistics.Add((masterBuffers[name], buffer));
        }
        foreach (var conv in _copy.modules().OfType<Conv2d>())
            if (_channelsLast) conv.weight.set_(ChannelsLast(conv.weight));
        foreach (var (name, parameter) in _copy.named_parameters())
        {
            if (shared.Contains(name)) continue;
            var master = masterParameters[name];
            var gradient = zeros_like(parameter); // keeps the channels-last strides
            parameter.grad = gradient;
            _copied.Add((master, master.grad!, parameter, gradient));
        }
        Model = _copy;
    }

    /// <summary>The module the step runs forward and backward through (the replica's model when no copy is needed).</summary>
    public CifarResNet Model { get; }

    public static bool IsCopy(ModelSpec spec) => spec.Precision != Precision.Float32 || spec.ChannelsLast;

    /// <summary>Loads the replica's current weights into the copy and returns fp32 logits of fp32 NCHW images.</summary>
    public Tensor Forward(Tensor images)
    {
        if (_copy is null) return Model.forward(images);
        using (no_grad())
        {
            foreach (var (master, _, compute, gradient) in _copied)
            {
                compute.copy_(master);
                gradient.zero_();
            }
            foreach (var (master, compute) in _statistics) compute.copy_(master);
        }
        using var scope = NewDisposeScope();
        var x = images.to(_dtype);
        if (_channelsLast) x = ChannelsLast(x);
        return Model.forward(x).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>After backward: writes the copy's gradients (and running statistics, if it has its own) into the replica, as fp32.</summary>
    public void CollectGradients()
    {
        if (_copy is null) return;
        using var noGrad = no_grad();
        foreach (var (_, masterGradient, _, gradient) in _copied) masterGradient.copy_(gradient);
        foreach (var (master, compute) in _statistics) master.copy_(compute);
    }

    /// <summary>NHWC strides under the NCHW shape; TorchSharp 0.107 has no memory_format argument to contiguous().</summary>
    public static Tensor ChannelsLast(Tensor x)
    {
        var nhwc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        if (x.shape[1] != 1) return nhwc;
        // One channel (Fashion-MNIST images, the stem's weights): the permuted tensor is already contiguous, so
        // contiguous() keeps the NCHW strides (channel stride H·W) and libtorch reads the tensor as NCHW. The stem
        // then ran NCHW, and since a residual sum takes its first operand's layout, so did the whole residual
        // stream: mixed-layout adds and serial batch-norm backward made channels-last 21–40 % slower
        // (bench/README.md). The same memory with channel stride 1 is unambiguously NHWC.
        // TorchSharp's as_strided takes an absolute storage offset (default 0), so a view into a larger batch passes its own.
        var (height, width) = (x.shape[2], x.shape[3]);
        return nhwc.as_strided(x.shape, [height * width, 1, width, 1], nhwc.storage_offset());
    }

    public void Dispose()
    {
        if (_copy is null) return;
        foreach (var (_, _, _, gradient) in _copied) gradient.Dispose();
        _copy.Dispose();
    }
}
