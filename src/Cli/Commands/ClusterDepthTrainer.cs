using Distributed.Cluster;
using Distributed.Coordinator;
using Distributed.Training;
using Distributed.Training.Hosting;

namespace Distributed.Cli.Commands;

/// <summary>
/// Trains <c>experiment depth</c>'s models through worker processes (<c>distributed-worker</c>) instead of in-process
/// workers: the coordinator node of <c>train --cluster</c> (<see cref="TrainingNode"/>), kept up across the models so
/// the workers join once. After each model it says how many training shards each worker delivered, which shows that
/// the cluster, not this process, did the work.
/// </summary>
public sealed class ClusterDepthTrainer : IAsyncDisposable
{
    private readonly TrainingNode _node;
    private readonly TextWriter _log;

    private ClusterDepthTrainer(TrainingNode node, TextWriter log)
    {
        _node = node;
        _log = log;
    }

    /// <param name="job">Any of the experiment's jobs: the node reads its minimum worker count.</param>
    public static async Task<ClusterDepthTrainer> StartAsync(ClusterSettings settings, TrainingJob job, TextWriter log, CancellationToken cancellationToken)
    {
        var node = await TrainingNode.StartAsync(settings, job, cancellationToken);
        if (node.Description is { } description) log.WriteLine(description);
        return new ClusterDepthTrainer(node, log);
    }

    /// <summary>The <c>DepthTrainer</c>: one training run whose workers are the cluster's worker nodes.</summary>
    public async Task<TrainingOutcome> TrainAsync(TrainingJob job, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        var outcome = await TrainingRun.RunAsync(_node.System, job, observer, _node.Workers, cancellationToken);
        _log.WriteLine($"{job.Model.Name}: training shards per worker node: {string.Join(", ", outcome.Workers.Select(w => $"{w.Name} {w.ShardsCompleted}"))}");
        return outcome;
    }

    public ValueTask DisposeAsync() => _node.DisposeAsync();
}
