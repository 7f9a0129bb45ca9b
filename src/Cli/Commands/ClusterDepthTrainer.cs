using Akka.Actor;
using Distributed.Cluster;
using Distributed.Cluster.Transport;
using Distributed.Cluster.Workers;
using Distributed.Coordinator;
using Distributed.Experiments;
using Distributed.Training;
using Distributed.Training.Hosting;
using Microsoft.Extensions.Hosting;

namespace Distributed.Cli.Commands;

/// <summary>
/// Trains <c>experiment depth</c>'s models through worker processes (<c>distributed-worker</c>) instead of in-process
/// workers: one coordinator node, the same hosting and discovery as <c>train --cluster</c>, kept up across the
/// models so the workers join once. Each model's run gets its own discovery actor, which hands the live workers to
/// that run's coordinator and afterwards says how many shards each delivered.
/// </summary>
public sealed class ClusterDepthTrainer : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TensorChannel _channel;
    private readonly ActorSystem _system;
    private readonly TextWriter _log;
    private int _runs;

    private ClusterDepthTrainer(IHost host, TensorChannel channel, TextWriter log)
    {
        _host = host;
        _channel = channel;
        _system = TrainingHost.ActorSystemOf(host);
        _log = log;
    }

    public static async Task<ClusterDepthTrainer> StartAsync(ClusterSettings settings, TextWriter log, CancellationToken cancellationToken)
    {
        var tls = ClusterTls.Load(settings.Tls);
        var host = ClusterTrainingHost.Build(settings, tls);
        var channel = TensorChannel.Start(settings.Hostname, settings.TensorPort, settings.AdvertisedHostname, tls);
        await host.StartAsync(cancellationToken);
        var trainer = new ClusterDepthTrainer(host, channel, log);
        log.WriteLine($"Coordinator node {Akka.Cluster.Cluster.Get(trainer._system).SelfAddress}, tensor channel {channel.AdvertisedHost}:{channel.Port}, " +
                      $"TLS {(tls is null ? "off" : "on")}; each model starts once enough distributed-worker processes have joined");
        return trainer;
    }

    /// <summary>The <see cref="DepthTrainer"/>: one training run whose workers are the cluster's worker nodes.</summary>
    public async Task<TrainingOutcome> TrainAsync(TrainingJob job, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        IActorRef? discovery = null;
        var run = Interlocked.Increment(ref _runs);
        var options = new TrainingRun.RunOptions(Started: actors =>
            discovery = _system.ActorOf(WorkerDiscoveryActor.Props(actors.Coordinator, _channel), $"worker-discovery-{run}"));
        try
        {
            var outcome = await TrainingRun.RunAsync(_system, job, observer, startLocalWorkers: false, cancellationToken, options);
            if (discovery is not null) await ReportWorkersAsync(job.Model.Name, discovery);
            return outcome;
        }
        finally
        {
            if (discovery is not null) _system.Stop(discovery);
        }
    }

    /// <summary>Per worker node, the training shards it delivered for this model: shows the cluster did the work.</summary>
    private async Task ReportWorkersAsync(string model, IActorRef discovery)
    {
        try
        {
            var report = await discovery.Ask<WorkerReport>(GetWorkerReport.Instance, TimeSpan.FromSeconds(5));
            _log.WriteLine($"{model}: training shards per worker node: {string.Join(", ", report.Shards.Select(s => $"{s.Worker} {s.TrainingShards}"))}");
        }
        catch (AskTimeoutException)
        {
            _log.WriteLine($"{model}: no worker report (the discovery actor did not answer)");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        await _channel.DisposeAsync();
    }
}
