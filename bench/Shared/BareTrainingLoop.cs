// Shared by the benchmarks: the baseline every system figure is divided by.
using System.Diagnostics;
using Distributed.Model.Data;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Worker;
using static TorchSharp.torch;

namespace Distributed.Bench.Shared;

/// <summary>
/// A plain single-process TorchSharp train loop of the same model on the same data (CifarResNet +
/// torch.optim.SGD, the system's batch assembly), on its own thread so the libtorch thread count is its own.
/// </summary>
public static class BareTrainingLoop
{
    public static double ImagesPerSecond(ModelSpec model, DataSpec data, int batch, int warmup, int timed, int threads)
    {
        double result = 0;
        var thread = new Thread(() =>
        {
            TorchRuntime.UseThreadsOnThisThread(threads);
            var prepared = PreparedData.Get(data);
            var assembler = new BatchAssembler(prepared.Train, prepared.Normalization, prepared.Augmentation, 1);
            using var net = new CifarResNet(model, 1);
            using var optimizer = optim.SGD(net.parameters(), 0.05, momentum: 0.9, nesterov: true, weight_decay: 5e-4);
            var images = new float[batch * prepared.Train.SampleSize];
            var labels = new long[batch];
            var order = Enumerable.Range(0, prepared.Train.Count).ToArray();
            var times = new List<double>();
            net.train();
            for (var step = 0; step < warmup + timed; step++)
            {
                var clock = Stopwatch.StartNew();
                using var scope = NewDisposeScope();
                assembler.Fill(order.AsSpan(step * batch % (order.Length - batch), batch), 0, images, labels);
                var x = tensor(images, [batch, model.InputChannels, model.ImageHeight, model.ImageWidth]);
                var y = tensor(labels);
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(net.forward(x), y);
                loss.backward();
                optimizer.step();
                loss.item<float>();
                if (step >= warmup) times.Add(clock.Elapsed.TotalSeconds);
            }
            times.Sort();
            result = batch / times[times.Count / 2];
        });
        thread.Start();
        thread.Join();
        return result;
    }
}
