using System.Runtime.InteropServices;
using System.Diagnostics;
using Distributed.Model.Data;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Worker.Health;
using TorchSharp;
using static TorchSharp.torch;
using Distributed.Cluster.Transport;

namespace Distributed.Worker;

/// <summary>
/// A worker's model replica and its view of the data: turns one shard of sample indices into a gradient
/// (training) or a loss and accuracy (evaluation). Runs on the worker's compute thread only.
/// </summary>
public sealed class ShardTrainer : IDisposable
{
    /// <summary>Forward-only passes are several times faster in cache-sized batches (bench/README.md, platform fact 3).</summary>
    private const int EvaluationBatch = 128;

    private readonly FlatReplica _replica;
    private readonly ComputeNet _net;
    // Evaluation stays fp32, so the reported accuracy is that of the fp32 weights the run hands out, but takes the
    // run's channels-last layout: the same predictions, and an evaluation 1.04–1.18× faster (bench/README.md,
    // "Evaluation in channels-last"). bf16 would be 2.8× faster but changes predictions. Null: the replica's own NCHW model.
    private readonly ComputeNet? _evaluationNet;
    private readonly PreparedData _data;
    private readonly BatchAssembler _trainBatches;
    private readonly BatchAssembler _testBatches;
    private readonly GradientCompressor _compressor;
    private readonly double _labelSmoothing;
    private readonly bool _flipAveragedEvaluation;
    private float[] _images = [];
    private long[] _labels = [];

    public ShardTrainer(ConfigureWorker configuration)
    {
        _data = PreparedData.Get(configuration.Data);
        var spec = configuration.Model;
        var sample = _data.Train;
        if (spec.InputChannels != sample.Channels || spec.ImageHeight != sample.Height || spec.ImageWidth != sample.Width || spec.ClassCount < sample.ClassCount)
            throw new ArgumentException($"model {spec.Name} expects {spec.InputChannels}x{spec.ImageHeight}x{spec.ImageWidth} inputs and {spec.ClassCount} classes, " +
                $"but {sample.Name} has {sample.Channels}x{sample.Height}x{sample.Width} and {sample.ClassCount} classes");
        if (!(configuration.LabelSmoothing >= 0 && configuration.LabelSmoothing < 1))
            throw new ArgumentException($"label smoothing {configuration.LabelSmoothing} must be in [0, 1)");
        _labelSmoothing = configuration.LabelSmoothing;
        _flipAveragedEvaluation = configuration.FlipAveragedEvaluation;
        ComputeWarning = Bf16Hardware.Warning(spec.Precision);
        _replica = new FlatReplica(spec, configuration.Seed);
        _net = new ComputeNet(_replica);
        _evaluationNet = !spec.ChannelsLast ? null : spec.Precision == Precision.Float32 ? _net : new ComputeNet(_replica, precision: Precision.Float32);
        _trainBatches = new BatchAssembler(_data.Train, _data.Normalization, _data.Augmentation, configuration.Seed);
        _testBatches = new BatchAssembler(_data.Test, _data.Normalization, Augmentation.None, configuration.Seed);
        // The residual belongs to this replica: a new configuration (a new run) starts from zero.
        _compressor = new GradientCompressor(configuration.Compression, _replica.Layout.ParameterCount);
    }

    public long WeightsVersion { get; private set; } = -1;
    /// <summary>What the operator should know about how this CPU computes the run (<see cref="Bf16Hardware"/>); null when nothing.</summary>
    public string? ComputeWarning { get; }
    public int StateLength => _replica.Layout.StateLength;
    public int ParameterCount => _replica.Layout.ParameterCount;
    public int TrainCount => _data.Train.Count;
    public int TestCount => _data.Test.Count;
    public string DataFingerprint => _data.Fingerprint.Hash;

    /// <summary>Loads weights if the request carries them; false when the request needs weights this replica lacks.</summary>
    public bool TryLoadWeights(WorkRequest request)
    {
        if (request.State is { } state)
        {
            _replica.LoadState(state);
            WeightsVersion = request.WeightsVersion;
        }
        return WeightsVersion == request.WeightsVersion;
    }

    public WorkCompleted Run(WorkRequest request)
    {
        var clock = Stopwatch.StartNew();
        Validate(request);
        var version = WeightsVersion;
        // Co-activation is a statistic over pairs of samples, so a one-sample shard is not probed.
        using var probe = request.ProbeHealth && request.Kind == WorkKind.Train && request.SampleIndices.Length >= 2
            ? new ShardHealthProbe(_net.Model) : null;
        var cpuStart = ThreadCpuTime.Milliseconds();
        var (lossSum, correct, buffer) = request.Kind == WorkKind.Train ? Train(request) : Evaluate(request);
        // The shard's own computation (the health probe's finish is left out, as from the wall time); 0 where unmeasurable.
        var cpuMilliseconds = ThreadCpuTime.Milliseconds() - cpuStart;
        var health = FinishProbe(probe, request);
        var healthMilliseconds = probe?.Milliseconds ?? 0;
        return new WorkCompleted(request.Round, request.Kind, request.Shard, version, request.SampleIndices.Length,
            lossSum, correct, clock.Elapsed.TotalMilliseconds - healthMilliseconds, buffer, health, healthMilliseconds, request.RunId,
            ComputeCpuMilliseconds: double.IsFinite(cpuMilliseconds) ? cpuMilliseconds : 0);
    }

    /// <summary>A health probe is an observer: if it fails, the step's result still goes out, without health figures.</summary>
    private ShardHealth? FinishProbe(ShardHealthProbe? probe, WorkRequest request)
    {
        if (probe is null) return null;
        try
        {
            return probe.Finish(_replica, _trainBatches, request);
        }
        catch (Exception error) when (error is ArgumentException or InvalidOperationException or ExternalException)
        {
            Trace.TraceWarning($"gradient-health probe failed on round {request.Round} shard {request.Shard}: {error.Message}");
            return null;
        }
    }

    private (double LossSum, int Correct, float[] Buffer) Train(WorkRequest request)
    {
        var count = request.SampleIndices.Length;
        using var scope = NewDisposeScope();
        var (images, labels) = Assemble(_trainBatches, request.SampleIndices, request.Epoch);
        _replica.ZeroGradients();
        _net.Model.train();
        var logits = _net.Forward(images);
        var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: _labelSmoothing);
        loss.backward();
        _net.CollectGradients();
        var correct = (int)logits.argmax(1).eq(labels).sum().item<long>();
        var lossSum = loss.item<float>() * (double)count;

        // [gradient of the shard's mean loss | running statistics after this step]: one buffer, two copies. Whoever
        // consumes it last (the parameter server, or the tensor channel once it has sent it) returns it to the pool.
        var buffer = TensorBufferPool.Shared.Rent(_replica.Layout.StateLength);
        var statistics = _replica.Layout.ParameterCount;
        // Only the gradient is rounded (with error feedback, or copied as it is without compression). The running
        // statistics are not gradients: the server averages them into the state as they are, not into a sum over
        // steps, so a residual carried to the next step would never be paid back; a mean or variance rounded to
        // 16 bits would shift every normalized activation at evaluation; and they are a few hundred values.
        _compressor.Compress(_replica.Gradients, buffer.AsSpan(0, statistics));
        _replica.State.AsSpan(statistics).CopyTo(buffer.AsSpan(statistics));
        // The running statistics now hold this step's update, not the version's: reload them before the next use.
        WeightsVersion = -1;
        return (lossSum, correct, buffer);
    }

    private (double LossSum, int Correct, float[]? Buffer) Evaluate(WorkRequest request)
    {
        double lossSum = 0;
        var correct = 0;
        _replica.Model.eval();
        _evaluationNet?.Model.eval();
        Func<Tensor, Tensor> forward = _evaluationNet is { } net ? net.Forward : _replica.Model.forward;
        using var noGrad = no_grad();
        for (var start = 0; start < request.SampleIndices.Length; start += EvaluationBatch)
        {
            using var scope = NewDisposeScope();
            var batch = request.SampleIndices.AsSpan(start, Math.Min(EvaluationBatch, request.SampleIndices.Length - start));
            var (images, labels) = Assemble(_testBatches, batch, 0);
            var logits = forward(images);
            // A left-right mirror does not change the class of a garment (or of a CIFAR image): the mirror image is a
            // second view of the same item, and the mean of the two views' logits an ensemble for one more forward pass.
            if (_flipAveragedEvaluation) logits = logits.add(forward(images.flip(3))).div(2);
            lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
            correct += (int)logits.argmax(1).eq(labels).sum().item<long>();
        }
        return (lossSum, correct, null);
    }

    private (Tensor Images, Tensor Labels) Assemble(BatchAssembler assembler, ReadOnlySpan<int> indices, int epoch)
    {
        var dataset = assembler.Dataset;
        var count = indices.Length;
        var pixels = count * dataset.SampleSize;
        if (_images.Length < pixels) _images = GC.AllocateArray<float>(pixels, pinned: true);
        if (_labels.Length < count) _labels = GC.AllocateArray<long>(count, pinned: true);
        assembler.Fill(indices, epoch, _images, _labels);
        // frombuffer shares the pinned arrays: no copy between the assembled batch and the tensor.
        var images = torch.frombuffer(_images, ScalarType.Float32, pixels).view(count, dataset.Channels, dataset.Height, dataset.Width);
        var labels = torch.frombuffer(_labels, ScalarType.Int64, count);
        return (images, labels);
    }

    private void Validate(WorkRequest request)
    {
        var limit = request.Kind == WorkKind.Train ? TrainCount : TestCount;
        if (request.SampleIndices.Length == 0) throw new ArgumentException($"round {request.Round} shard {request.Shard} has no samples");
        foreach (var index in request.SampleIndices)
        {
            if ((uint)index >= (uint)limit)
                throw new ArgumentException($"round {request.Round} shard {request.Shard}: sample index {index} is outside the {request.Kind} set of {limit}");
        }
    }

    public void Dispose()
    {
        if (!ReferenceEquals(_evaluationNet, _net)) _evaluationNet?.Dispose();
        _net.Dispose();
        _replica.Dispose();
    }
}
