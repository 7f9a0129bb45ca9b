using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Distributed.Coordinator;
using Distributed.Model.Data;
using Distributed.Training.Checkpoints;

namespace Distributed.Cli.Commands;

// Every option of `train`, with its default and why: the hyperparameters of a run in one place.
public static partial class TrainCommand
{
    private static readonly Option<string> ModelOption = new("--model")
    { Description = "Network family: resnet (skip connections) or plain (the same layers without them).", DefaultValueFactory = _ => "resnet" };
    private static readonly Option<int> DepthOption = new("--depth")
    { Description = "Depth 6n+2: 20, 32, 44, 56, 110, ...", DefaultValueFactory = _ => 20 };
    private static readonly Option<int> WidthOption = new("--width")
    { Description = "Width multiplier k: stage widths 16k, 32k, 64k.", DefaultValueFactory = _ => 1 };
    private static readonly Option<string> NormOption = new("--norm")
    { Description = "Normalization: batch, group or none.", DefaultValueFactory = _ => "batch" };
    private static readonly Option<float> ResidualScaleOption = new("--residual-scale")
    { Description = "β in h = x + β·F(x) for residual blocks.", DefaultValueFactory = _ => 1f };
    private static readonly Option<bool> ZeroInitOption = new("--zero-init-last-norm")
    { Description = "Start each residual block as the identity by zeroing its last normalization scale." };
    private static readonly Option<string> PrecisionOption = new("--precision")
    {
        Description = "Worker compute: fp32, bf16 (convolutions and classifier in bfloat16; normalization, loss and the parameter server's weights " +
            "stay fp32), or auto: bf16 where this CPU has AVX512-BF16 or AMX-BF16 units, fp32 elsewhere (ComputePolicy). " +
            "With --cluster, the coordinator's CPU decides.",
        DefaultValueFactory = _ => ComputePolicy.Auto,
    };
    private static readonly Option<string> CompressOption = new("--compress")
    {
        Description = "Gradients workers push: none (fp32), fp16 or bf16 (rounded to 16 bits with error feedback, half the bytes between nodes; " +
            "running statistics stay fp32). See docs/compression.md.",
        DefaultValueFactory = _ => "none",
    };
    // No default value: unset, it follows the precision (ComputePolicy).
    private static readonly Option<bool?> ChannelsLastOption = new("--channels-last")
    {
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = OptionalSwitch,
        Description = "Workers run convolutions with channels-last (NHWC) strides: --channels-last, --channels-last true|false " +
            "(default: on with bf16, off with fp32; on --resume, the checkpoint's).",
    };
    private static readonly Option<int> WorkersOption = new("--workers")
    { Description = "In-process workers (default: one per core, each with one thread).", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<int> ThreadsOption = new("--threads-per-worker")
    { Description = "libtorch threads per worker (default: cores / workers, at least 1).", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> EpochsOption = new("--epochs")
    { Description = "Passes over the training set.", DefaultValueFactory = _ => 3 };
    private static readonly Option<int> BatchOption = new("--batch-size")
    { Description = "Global minibatch, split across the workers every step.", DefaultValueFactory = _ => 128 };
    private static readonly Option<double> LrOption = new("--lr")
    { Description = "Peak learning rate for a global batch of 128; scaled linearly for other batch sizes.", DefaultValueFactory = _ => 0.1 };
    private static readonly Option<string> ScheduleOption = new("--schedule")
    { Description = "After warmup: linear (to zero), cosine or constant.", DefaultValueFactory = _ => "linear" };
    // No default value: unset, it depends on --epochs (RecipePolicy), as --augment auto does.
    private static readonly Option<double?> WarmupOption = new("--warmup-epochs")
    {
        CustomParser = OptionalNumber,
        Description = $"Linear warmup length in epochs (default {RecipePolicy.ShortRunWarmupEpochs} for runs of up to {RecipePolicy.ShortRunMaxEpochs} epochs, " +
            $"{RecipePolicy.WarmupEpochs} for longer ones; on --resume, the checkpoint's).",
    };
    private static readonly Option<double> MomentumOption = new("--momentum")
    { Description = "SGD momentum (Nesterov).", DefaultValueFactory = _ => 0.9 };
    private static readonly Option<double> WeightDecayOption = new("--weight-decay")
    { Description = "L2 penalty on conv and linear weights (not on biases or norm scales).", DefaultValueFactory = _ => 5e-4 };
    private static readonly Option<int> SeedOption = new("--seed")
    { Description = "Seed for initial weights, data order and augmentation.", DefaultValueFactory = _ => 1 };
    private static readonly Option<string> DatasetOption = new("--dataset")
    { Description = "fashion-mnist, cifar10 or synthetic.", DefaultValueFactory = _ => DatasetCatalog.FashionMnistName };
    private static readonly Option<string> DataOption = new("--data")
    { Description = $"Dataset directory (default for fashion-mnist: {FashionMnist.DefaultDirectory})." };
    private static readonly Option<string> AugmentOption = new("--augment")
    {
        Description = $"Random crop (padding 2) and horizontal flip: on, flip (the flip only), off, or auto (on for runs of {AugmentationPolicy.FromEpochs} epochs or more; " +
            "short runs are still underfitting, where augmentation only slows the fit).",
        DefaultValueFactory = _ => "auto",
    };
    private static readonly Option<double?> LabelSmoothingOption = new("--label-smoothing")
    {
        CustomParser = OptionalNumber,
        Description = "Label smoothing ε: train against (1 - ε) on the true class and ε spread over all classes (0: plain cross-entropy; " +
            $"the test loss stays plain). Default {RecipePolicy.ShortRunLabelSmoothing} for runs of up to {RecipePolicy.ShortRunMaxEpochs} epochs, " +
            $"{RecipePolicy.LabelSmoothing} for longer ones; on --resume, the checkpoint's.",
    };
    private static readonly Option<bool> TestFlipOption = new("--test-flip")
    { Description = "Score each test image by the mean of its logits and those of its mirror image (one more forward pass per test image)." };
    private static readonly Option<int> EvaluateEveryOption = new("--evaluate-every")
    {
        Description = "Evaluate the test set after every N-th epoch and always after the last (0: only after the last). " +
            "Each skipped evaluation saves its time (4-7 s for ResNet-14 or ResNet-20 on 2 cores); the weights do not change.",
        DefaultValueFactory = _ => 1,
    };
    private static readonly Option<bool> NoAugmentOption = new("--no-augment")
    { Description = "Same as --augment off." };
    private static readonly Option<int> TrainLimitOption = new("--train-limit")
    { Description = "Use only the first N training samples (0: all).", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> TestLimitOption = new("--test-limit")
    { Description = "Use only the first N test samples (0: all).", DefaultValueFactory = _ => 0 };
    private static readonly Option<long> MaxStepsOption = new("--max-steps")
    { Description = "Stop after this many steps (0: run all epochs).", DefaultValueFactory = _ => 0 };
    private static readonly Option<double> ShardTimeoutOption = new("--shard-timeout")
    { Description = "Seconds a worker may take for a shard before it is given to another worker.", DefaultValueFactory = _ => 30.0 };
    private static readonly Option<double> JoinTimeoutOption = new("--join-timeout")
    {
        Description = "Seconds to wait for the needed workers (--workers, or --min-workers with --cluster) to become live; then the run fails, naming the rejected workers and why.",
        DefaultValueFactory = _ => TrainingPlan.DefaultJoinTimeout.TotalSeconds,
    };
    private static readonly Option<int> MaxShardAttemptsOption = new("--max-shard-attempts")
    {
        Description = "Times one shard may be given to workers (after deaths, failures, missed deadlines, non-finite results) before the run fails.",
        DefaultValueFactory = _ => TrainingPlan.DefaultMaxShardAttempts,
    };
    private static readonly Option<bool> NoSpeculateOption = new("--no-speculate")
    {
        Description = "Do not give a straggling training shard to an idle worker as well (speculative copies: the first result counts, the weights are " +
            "the same either way); on by default, see bench/README.md \"Stragglers\".",
    };
    private static readonly Option<int> StalenessOption = new("--staleness")
    {
        Description = "Bounded staleness s (stale-synchronous SGD): up to s + 1 steps are open at once, so a step's gradient may be computed on " +
            $"weights up to s steps old and fast workers need not wait for a straggler; 0 (the default) is synchronous SGD, bit for bit; at most {StepWindow.MaxStaleness}. " +
            "Turns speculative copies off; refused with --backup-workers. What it changes in the math: docs/stragglers.md.",
        DefaultValueFactory = _ => 0,
    };
    private static readonly Option<int> BackupWorkersOption = new("--backup-workers")
    {
        Description = "Backup workers b (Chen et al. 2016): each training step is still cut into one shard per live worker, but applied as soon as " +
            "all but b shards are in; the late shards are abandoned and their samples counted as skipped in the sample ledger. Must be below the " +
            "workers (--workers, or --min-workers with --cluster); the weights then depend on timing. 0 (default): every shard, bit-exact synchronous SGD. " +
            "Refused with --staleness >= 1.",
        DefaultValueFactory = _ => 0,
    };
    private static readonly Option<int> PsShardsOption = new("--ps-shards")
    {
        Description = "Parameter servers, each owning one contiguous range of the weights (balanced in bytes) and averaging and updating only it; " +
            "the weights are bit-identical for every number, and a run may resume with another.",
        DefaultValueFactory = _ => 1,
    };
    private static readonly Option<string> OutputOption = new("--output")
    { Description = "Directory for metrics.jsonl and checkpoint.bin (default: runs/<model>-<timestamp>; with --resume, its directory)." };
    private static readonly Option<long> CheckpointEveryOption = new("--checkpoint-every")
    { Description = "Also write a checkpoint every K applied steps (0: by time only, see --checkpoint-minutes).", DefaultValueFactory = _ => 0 };
    private static readonly Option<double> CheckpointMinutesOption = new("--checkpoint-minutes")
    {
        Description = "Also write a checkpoint whenever this many minutes have passed since the last one (0: off; with --checkpoint-every 0 too, only at the end).",
        DefaultValueFactory = _ => CheckpointSchedule.DefaultEvery.TotalMinutes,
    };
    private static readonly Option<int> KeepCheckpointsOption = new("--keep-checkpoints")
    {
        Description = "Checkpoint files named by step (checkpoint-<step>.bin) to keep; checkpoint.bin is always the newest.",
        DefaultValueFactory = _ => CheckpointRetention.DefaultKeep,
    };
    private static readonly Option<string> ResumeOption = new("--resume")
    { Description = "Continue the run whose checkpoint.bin is in this directory (or this file); the other options must match that run's." };
    private static readonly Option<bool> ClusterOption = new("--cluster")
    { Description = "Coordinate workers that join over the network (distributed-worker processes) instead of starting in-process workers." };
    private static readonly Option<int> MinWorkersOption = new("--min-workers")
    { Description = "With --cluster: start training once this many workers have joined.", DefaultValueFactory = _ => 1 };
    private static readonly Option<int?> ServerNodesOption = new("--server-nodes")
    {
        Description = "With --cluster: keep the --ps-shards parameter-server ranges on this many server nodes (distributed-worker --role server, " +
            "Cluster:ServerNodes) instead of this node; the run waits for them (--join-timeout). Default 0: on this node.",
    };
    private static readonly Option<string> HostnameOption = new("--hostname")
    { Description = "With --cluster: address to bind to (Cluster:Hostname; default 127.0.0.1)." };
    private static readonly Option<int?> PortOption = new("--port")
    { Description = "With --cluster: Akka.Remote port workers join (Cluster:Port; default 4053)." };
    private static readonly Option<string> PublicHostnameOption = new("--public-hostname")
    { Description = "With --cluster: address workers reach this node at, if not --hostname (Cluster:PublicHostname)." };
    private static readonly Option<int?> TensorPortOption = new("--tensor-port")
    { Description = "With --cluster: port of the tensor channel (Cluster:TensorPort; default any free port)." };
    private static readonly Option<string[]> FaultOption = new("--fault")
    {
        Description = "Rehearse failures in in-process workers: WORKER:nan@K, :crash@K, :hang@K (at that worker's K-th training shard) " +
            "or :slow=Fx[@K], e.g. --fault worker-1:slow=3x; comma-separated or repeated. Cluster workers take --fault themselves.",
    };
    private static readonly Option<bool> InsecureOption = new("--insecure")
    { Description = "With --cluster: allow a non-loopback --hostname without TLS (Cluster:AllowInsecure); warned about on every start." };

    /// <summary>Parses an option with no default value, so that its message names a number rather than System.Nullable`1.</summary>
    private static double? OptionalNumber(ArgumentResult result)
    {
        var name = (result.Parent as OptionResult)?.Option.Name ?? "option";
        if (result.Tokens.Count != 1)
        {
            result.AddError($"{name} takes one number.");
            return null;
        }
        var text = result.Tokens[0].Value;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return value;
        result.AddError($"{name} '{text}' is not a number.");
        return null;
    }

    /// <summary>Parses a switch that also takes true or false, and is null when not given.</summary>
    private static bool? OptionalSwitch(ArgumentResult result)
    {
        var name = (result.Parent as OptionResult)?.Option.Name ?? "option";
        if (result.Tokens.Count == 0) return true;
        var text = result.Tokens[0].Value;
        if (bool.TryParse(text, out var value)) return value;
        result.AddError($"{name} '{text}' is not true or false.");
        return null;
    }

    private static IEnumerable<Option> AllOptions() =>
    [
        ModelOption, DepthOption, WidthOption, NormOption, ResidualScaleOption, ZeroInitOption, PrecisionOption, CompressOption, ChannelsLastOption, WorkersOption, ThreadsOption,
        EpochsOption, BatchOption, LrOption, ScheduleOption, WarmupOption, MomentumOption, WeightDecayOption, SeedOption,
        DatasetOption, DataOption, AugmentOption, NoAugmentOption, LabelSmoothingOption, TestFlipOption, EvaluateEveryOption, TrainLimitOption, TestLimitOption, MaxStepsOption, ShardTimeoutOption,
        JoinTimeoutOption, MaxShardAttemptsOption, NoSpeculateOption, StalenessOption, BackupWorkersOption, PsShardsOption, OutputOption,
    ];

    private static IEnumerable<Option> RunOptions() =>
    [
        CheckpointEveryOption, CheckpointMinutesOption, KeepCheckpointsOption, ResumeOption, ClusterOption, MinWorkersOption, ServerNodesOption, HostnameOption, PortOption,
        PublicHostnameOption, TensorPortOption, InsecureOption, FaultOption,
    ];
}
