using System.Diagnostics;
using Distributed.Model.Data;
using Distributed.Model.GradientHealth;
using Distributed.Model.Nets;
using Distributed.Protocol;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Worker.Health;

/// <summary>
/// A worker's part of gradient health on a probed training shard: rectifier activity captured during the step's
/// own forward pass, then the shattering index along the path between the shard's first two samples. Runs after
/// the shard's gradient and running statistics were copied out, so it cannot change the step's result.
/// </summary>
public sealed class ShardHealthProbe : IDisposable
{
    private readonly LiveActivationCapture _capture;
    private readonly Stopwatch _shattering = new();

    /// <param name="net">The network the step's forward pass runs through (a bf16 or channels-last copy, or the replica's own).</param>
    public ShardHealthProbe(CifarResNet net) => _capture = LiveActivationCapture.Attach(net);

    /// <summary>Time this probe added to the shard (capture inside the forward pass plus the shattering pass).</summary>
    public double Milliseconds => (_capture.Elapsed + _shattering.Elapsed).TotalMilliseconds;

    public ShardHealth Finish(FlatReplica replica, BatchAssembler assembler, WorkRequest request)
    {
        _capture.Dispose();
        _shattering.Start();
        try
        {
            var autocorrelation = request.SampleIndices.Length < 2 ? [] : Shattering(replica, assembler, request);
            var layers = _capture.Layers.Select(l => new LayerActivity(l.Layer, l.Statistics.ActiveFraction, l.Statistics.DeadFraction,
                l.Statistics.CoActivation)).ToArray();
            return new ShardHealth(request.SampleIndices.Length, layers, autocorrelation);
        }
        finally
        {
            _shattering.Stop();
        }
    }

    private static double[] Shattering(FlatReplica replica, BatchAssembler assembler, WorkRequest request)
    {
        using var scope = NewDisposeScope();
        var dataset = assembler.Dataset;
        var images = new float[2 * dataset.SampleSize];
        var labels = new long[2];
        assembler.Fill(request.SampleIndices.AsSpan(0, 2), request.Epoch, images, labels);
        var pair = torch.tensor(images).view(2, dataset.Channels, dataset.Height, dataset.Width);
        return LiveShatteringProbe.Measure(replica.Model, pair[0], pair[1], labels[0]);
    }

    public void Dispose() => _capture.Dispose();
}
