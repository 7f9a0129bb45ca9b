using System.Diagnostics;
using System.Globalization;
using Distributed.Training.Hosting;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.Data;
using Distributed.Model.GradientHealth;
using Distributed.Protocol;
using Distributed.Worker;
using Microsoft.Extensions.Hosting;
using TorchSharp;
using Distributed.Model.Nets;
using Distributed.Training.Workers;

namespace Distributed.Experiments;

/// <summary>One epoch of one model as the coordinator reported it (epochs count from 1).</summary>
/// <param name="TrainLoss">Mean training loss over the epoch's steps (augmented samples, weights changing), as in He et al.'s curves.</param>
public sealed record DepthEpoch(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds);

/// <summary>One applied step: its global-batch loss and accuracy before the update.</summary>
public sealed record DepthStep(long Step, int Epoch, double Loss, double Accuracy, double LearningRate);

/// <summary>Per-layer ‖∂L/∂W‖ on the probe batch for the weights after <paramref name="Epoch"/> epochs (0: initialisation).</summary>
public sealed record GradientSnapshot(int Epoch, double ProbeLoss, IReadOnlyList<ParameterGradientNorm> Norms);

/// <summary>Everything recorded for one architecture.</summary>
public sealed record DepthRun(
    ModelSpec Model,
    int ParameterCount,
    int StepsPerEpoch,
    IReadOnlyList<DepthEpoch> Epochs,
    IReadOnlyList<DepthStep> Steps,
    IReadOnlyList<GradientSnapshot> Gradients,
    int ReassignedShards,
    double Seconds)
{
    public string Name => Model.Name;
    public string Family => Model.Architecture == Distributed.Protocol.Architecture.Plain ? DepthOptions.PlainFamily : DepthOptions.ResNetFamily;
    public DepthEpoch Final => Epochs[^1];
}

/// <summary>One expectation from He et al. (2016), the numbers behind it, and whether it held.</summary>
public sealed record DepthClaim(string Statement, string Evidence, bool Holds);

public sealed record DepthResults(DepthOptions Options, IReadOnlyList<DepthRun> Runs, IReadOnlyList<DepthClaim> Claims)
{
    public DepthRun? Find(string family, int depth) => Runs.FirstOrDefault(r => r.Family == family && r.Model.Depth == depth);
}

/// <summary>
/// Runs one training job to its end and reports to the observer; the default starts in-process workers. A cluster
/// host can pass its own (remote workers, same coordinator and parameter server) without changing the experiment.
/// </summary>
public delegate Task<TrainingOutcome> DepthTrainer(TrainingJob job, ITrainingObserver observer, CancellationToken cancellationToken);

/// <summary>
/// He et al. (2016), "Deep Residual Learning", the degradation problem: a deeper plain net ends with a higher
/// training loss than a shallower one although it could represent it (the extra layers as identities), while the
/// residual twin of the deeper net trains at least as well. Every model is trained through the distributed trainer
/// (coordinator, parameter server, workers) with the same budget; the per-layer gradient norms on a fixed probe batch
/// at initialisation and after every epoch show whether vanishing gradients explain it (with batch norm they should not).
/// </summary>
public static class DepthExperiment
{
    /// <summary>
    /// "At or below" with room for noise: two resnets of different depth trained for a short budget differ by a few
    /// percent of loss from seed to seed, so the deeper one counts as not worse within 5 % of the shallower one's loss.
    /// </summary>
    public const double ResNetTolerance = 0.05;

    /// <summary>A stem gradient more than ten times weaker than the last convolution's counts as vanishing.</summary>
    public const double VanishingRatio = 0.1;

    public static async Task<DepthResults> RunAsync(DepthOptions options, TextWriter log, CancellationToken cancellationToken,
        DepthTrainer? trainer = null)
    {
        options.Validate();
        // Load the data (and fail on a missing dataset) before any actor starts; the workers share this copy.
        var data = PreparedData.Get(options.Data);
        var (probeImages, probeLabels) = ProbeBatch(data, options);
        var models = options.Models();
        log.WriteLine($"{string.Join(", ", models.Select(m => m.Name))} on {options.Dataset} ({data.Train.Count} training / {data.Test.Count} test images), " +
                      $"{options.Epochs} epochs at global batch {options.BatchSize}, peak lr {LearningRateSchedule.LinearScaling(options.LearningRate, options.BatchSize):G4}, " +
                      $"{options.Workers} in-process workers x {options.ResolvedThreadsPerWorker} threads, seed {options.Seed}");

        IHost? host = null;
        if (trainer is null)
        {
            host = TrainingHost.BuildLocal();
            await host.StartAsync(cancellationToken);
            var system = TrainingHost.ActorSystemOf(host);
            trainer = (job, observer, ct) => TrainingRun.RunAsync(system, job, observer, InProcessWorkers.Of(job), ct);
        }
        try
        {
            var runs = new List<DepthRun>();
            foreach (var model in models)
            {
                runs.Add(await TrainOneAsync(model, options, trainer, probeImages, probeLabels, log, cancellationToken));
            }
            var results = new DepthResults(options, runs, []);
            return results with { Claims = EvaluateClaims(results) };
        }
        finally
        {
            if (host is not null)
            {
                await host.StopAsync(CancellationToken.None);
                host.Dispose();
            }
        }
    }

    private static async Task<DepthRun> TrainOneAsync(ModelSpec model, DepthOptions options, DepthTrainer trainer,
        float[] probeImages, long[] probeLabels, TextWriter log, CancellationToken cancellationToken)
    {
        var job = options.JobFor(model);
        var built = RunModel.Build(model, options.Seed);
        var (initialState, parameterCount) = (built.InitialState, built.ParameterCount);
        var recorder = new Recorder(model.Name, options.Epochs, log);
        var clock = Stopwatch.StartNew();
        var outcome = await trainer(job, recorder, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (!outcome.Succeeded)
            throw new InvalidOperationException($"{model.Name} did not finish training: {outcome.Failed!.Reason} (step {outcome.Failed.Step}).");
        var seconds = clock.Elapsed.TotalSeconds;

        // The probes run here, between trainings, so they take no cores from the workers; one thread, pinned on this
        // thread right before use, keeps their float sums identical from run to run.
        var states = recorder.Weights.OrderBy(w => w.Epoch).ToList();
        if (states.Count != options.Epochs || recorder.Epochs.Count != options.Epochs)
            throw new InvalidOperationException($"{model.Name}: expected {options.Epochs} epochs, the trainer reported {recorder.Epochs.Count} (weights for {states.Count}).");
        var snapshots = new List<GradientSnapshot>();
        using (var probe = new ReplicaGradientProbe(model, probeImages, probeLabels))
        {
            torch.set_num_threads(1);
            var initial = probe.Measure(initialState);
            snapshots.Add(new GradientSnapshot(0, initial.Loss, initial.Norms));
            foreach (var weights in states)
            {
                torch.set_num_threads(1);
                var measured = probe.Measure(weights.State);
                snapshots.Add(new GradientSnapshot(weights.Epoch + 1, measured.Loss, measured.Norms));
            }
        }
        var final = recorder.Epochs[^1];
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model.Name}: final training loss {final.TrainLoss:0.0000}, test accuracy {final.TestAccuracy:P2}; {seconds:0} s, {outcome.Finished!.Steps} steps, {outcome.Finished.ReassignedShards} shards reassigned"));
        return new DepthRun(model, parameterCount, recorder.StepsPerEpoch, recorder.Epochs.OrderBy(e => e.Epoch).ToList(),
            recorder.Steps.OrderBy(s => s.Step).ToList(), snapshots, outcome.Finished.ReassignedShards, seconds);
    }

    /// <summary>The first <see cref="DepthOptions.ProbeBatch"/> training images, unaugmented, normalised as the workers normalise them.</summary>
    private static (float[] Images, long[] Labels) ProbeBatch(PreparedData data, DepthOptions options)
    {
        var count = Math.Min(options.ProbeBatch, data.Train.Count);
        var images = new float[count * data.Train.SampleSize];
        var labels = new long[count];
        new BatchAssembler(data.Train, data.Normalization, Augmentation.None, options.Seed)
            .Fill(Enumerable.Range(0, count).ToArray(), 0, images, labels);
        return (images, labels);
    }

    private static List<DepthClaim> EvaluateClaims(DepthResults results)
    {
        var claims = new List<DepthClaim>();
        var depths = results.Options.Depths.Order().ToList();
        if (depths.Count < 2) return claims;
        var (shallow, deep) = (depths[0], depths[^1]);

        if (results.Find(DepthOptions.PlainFamily, shallow) is { } plainShallow && results.Find(DepthOptions.PlainFamily, deep) is { } plainDeep)
        {
            var (a, b) = (plainShallow.Final.TrainLoss, plainDeep.Final.TrainLoss);
            claims.Add(new($"Degradation: {plainDeep.Name} ends with a higher training loss than {plainShallow.Name}",
                Invariant($"final-epoch training loss {b:0.0000} vs {a:0.0000} ({Relative(b, a)}); training accuracy {plainDeep.Final.TrainAccuracy:P1} vs {plainShallow.Final.TrainAccuracy:P1}"),
                b > a));
        }
        if (results.Find(DepthOptions.ResNetFamily, shallow) is { } resShallow && results.Find(DepthOptions.ResNetFamily, deep) is { } resDeep)
        {
            var (a, b) = (resShallow.Final.TrainLoss, resDeep.Final.TrainLoss);
            claims.Add(new($"No degradation with shortcuts: {resDeep.Name} ends at or below {resShallow.Name}'s training loss (within {ResNetTolerance:P0})",
                Invariant($"final-epoch training loss {b:0.0000} vs {a:0.0000} ({Relative(b, a)}); training accuracy {resDeep.Final.TrainAccuracy:P1} vs {resShallow.Final.TrainAccuracy:P1}"),
                b <= a * (1 + ResNetTolerance)));
        }
        if (results.Find(DepthOptions.PlainFamily, deep) is { } plain && results.Find(DepthOptions.ResNetFamily, deep) is { } res)
        {
            claims.Add(new($"At depth {deep} the residual net ends with a lower training loss than the plain one",
                Invariant($"{res.Name} {res.Final.TrainLoss:0.0000} vs {plain.Name} {plain.Final.TrainLoss:0.0000} ({Relative(res.Final.TrainLoss, plain.Final.TrainLoss)})"),
                res.Final.TrainLoss < plain.Final.TrainLoss));
        }
        if (results.Options.Norm == NormKind.Batch && results.Find(DepthOptions.PlainFamily, deep) is { } deepPlain)
        {
            var ratio = DepthReport.StemToLastConv(deepPlain.Gradients[0]);
            var shallowRatio = results.Find(DepthOptions.PlainFamily, shallow) is { } p ? Invariant($" ({p.Name}: {DepthReport.StemToLastConv(p.Gradients[0]):0.00})") : "";
            claims.Add(new($"Not vanishing gradients: with batch norm, {deepPlain.Name}'s stem gradient at initialisation is not orders of magnitude below its last convolution's",
                Invariant($"stem / last-conv gradient norm {ratio:0.00}{shallowRatio}") +
                (ratio > 3 ? "; it grows toward the input instead, as batch norm makes it in deep plain nets (Yang et al. 2019)" : ""),
                ratio >= VanishingRatio));
        }
        return claims;
    }

    /// <summary>"+12.3 %" or "−4.5 %": how far <paramref name="value"/> lies from <paramref name="reference"/>.</summary>
    internal static string Relative(double value, double reference) =>
        Invariant($"{(value >= reference ? "+" : "−")}{Math.Abs(value / reference - 1) * 100:0.0} %");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Keeps what the coordinator reports for one model and prints a line per epoch.</summary>
    private sealed class Recorder(string name, int epochs, TextWriter log) : ITrainingObserver
    {
        private readonly object _gate = new();
        public List<DepthEpoch> Epochs { get; } = [];
        public List<DepthStep> Steps { get; } = [];
        public List<EpochWeights> Weights { get; } = [];
        public int StepsPerEpoch { get; private set; }

        public void OnStep(StepCompleted step)
        {
            lock (_gate)
            {
                StepsPerEpoch = step.StepsPerEpoch;
                Steps.Add(new DepthStep(step.Step, step.Epoch + 1, step.Loss, step.Accuracy, step.LearningRate));
            }
        }

        public void OnEpochWeights(EpochWeights weights)
        {
            lock (_gate) Weights.Add(weights);
        }

        public void OnEpoch(EpochCompleted epoch)
        {
            var row = new DepthEpoch(epoch.Epoch + 1, epoch.TrainLoss, epoch.TrainAccuracy, epoch.TestLoss, epoch.TestAccuracy, epoch.Seconds);
            lock (_gate)
            {
                Epochs.Add(row);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-10} epoch {row.Epoch}/{epochs}  train loss {row.TrainLoss:0.0000}  train acc {row.TrainAccuracy:P2}  test acc {row.TestAccuracy:P2}  ({row.Seconds:0.0} s)"));
            }
        }
    }
}
