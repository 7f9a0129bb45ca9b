using System.CommandLine;
using System.Globalization;
using Akka.Actor;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.Cluster.Transport;
using Distributed.Training.Checkpoints;
using Distributed.Training.Hosting;
using Distributed.Observability.Reporting;
using Distributed.Observability.Telemetry;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.Data;
using Distributed.Protocol;
using Microsoft.Extensions.Hosting;
using Distributed.Observability;
using Distributed.Model.Nets;
using Distributed.Worker;
using Distributed.Worker.Faults;

namespace Distributed.Cli.Commands;

/// <summary>`train`: every hyperparameter of a run, with its default and why, in one place.</summary>
public static class TrainCommand
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
    { Description = "Worker compute: fp32, or bf16 (convolutions and classifier in bfloat16; normalization, loss and the parameter server's weights stay fp32).", DefaultValueFactory = _ => "fp32" };
    private static readonly Option<bool> ChannelsLastOption = new("--channels-last")
    { Description = "Workers run convolutions with channels-last (NHWC) strides." };
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
    private static readonly Option<double> WarmupOption = new("--warmup-epochs")
    { Description = "Linear warmup length in epochs.", DefaultValueFactory = _ => 1.0 };
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
        Description = $"Random crop (padding 2) and horizontal flip: on, off, or auto (on for runs of {AugmentationPolicy.FromEpochs} epochs or more; " +
            "short runs are still underfitting, where augmentation only slows the fit).",
        DefaultValueFactory = _ => "auto",
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

    public static Command Create()
    {
        var command = new Command("train", "Train a ResNet (or its plain twin) data-parallel, with in-process workers or (--cluster) worker nodes.");
        foreach (var option in AllOptions()) command.Add(option);
        foreach (var option in RunOptions()) command.Add(option);
        foreach (var option in ObservabilityOptions.All) command.Add(option);
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>Parses `train` arguments into a job; parse errors and bad values throw <see cref="ArgumentException"/>.</summary>
    public static TrainingJob Parse(params string[] args)
    {
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0) throw new ArgumentException(string.Join("; ", parse.Errors.Select(e => e.Message)));
        return Bind(ParseFrom(parse));
    }

    private static IEnumerable<Option> AllOptions() =>
    [
        ModelOption, DepthOption, WidthOption, NormOption, ResidualScaleOption, ZeroInitOption, PrecisionOption, ChannelsLastOption, WorkersOption, ThreadsOption,
        EpochsOption, BatchOption, LrOption, ScheduleOption, WarmupOption, MomentumOption, WeightDecayOption, SeedOption,
        DatasetOption, DataOption, AugmentOption, NoAugmentOption, TrainLimitOption, TestLimitOption, MaxStepsOption, ShardTimeoutOption,
        JoinTimeoutOption, MaxShardAttemptsOption, OutputOption,
    ];

    private static IEnumerable<Option> RunOptions() =>
    [
        CheckpointEveryOption, CheckpointMinutesOption, KeepCheckpointsOption, ResumeOption, ClusterOption, MinWorkersOption, HostnameOption, PortOption,
        PublicHostnameOption, TensorPortOption, InsecureOption, FaultOption,
    ];

    private static Func<Option, object?> ParseFrom(ParseResult result) => option => option switch
    {
        Option<string> o => result.GetValue(o),
        Option<int> o => result.GetValue(o),
        Option<long> o => result.GetValue(o),
        Option<double> o => result.GetValue(o),
        Option<float> o => result.GetValue(o),
        Option<bool> o => result.GetValue(o),
        _ => throw new InvalidOperationException(option.Name),
    };

    /// <summary>Turns option values into a job, rejecting bad values with a message that names the option and the value.</summary>
    public static TrainingJob Bind(Func<Option, object?> value)
    {
        T Get<T>(Option option) => (T)value(option)!;
        var architecture = Get<string>(ModelOption).ToLowerInvariant() switch
        {
            "resnet" => Architecture.Residual,
            "plain" => Architecture.Plain,
            var other => throw new ArgumentException($"--model '{other}' is not one of: resnet, plain"),
        };
        var norm = Get<string>(NormOption).ToLowerInvariant() switch
        {
            "batch" => NormKind.Batch,
            "group" => NormKind.Group,
            "none" => NormKind.None,
            var other => throw new ArgumentException($"--norm '{other}' is not one of: batch, group, none"),
        };
        var precision = Get<string>(PrecisionOption).ToLowerInvariant() switch
        {
            "fp32" => Precision.Float32,
            "bf16" => Precision.BFloat16,
            var other => throw new ArgumentException($"--precision '{other}' is not one of: fp32, bf16"),
        };
        var schedule = Get<string>(ScheduleOption).ToLowerInvariant() switch
        {
            "linear" => ScheduleKind.Linear,
            "cosine" => ScheduleKind.Cosine,
            "constant" => ScheduleKind.Constant,
            var other => throw new ArgumentException($"--schedule '{other}' is not one of: linear, cosine, constant"),
        };
        var dataset = Get<string>(DatasetOption).ToLowerInvariant();
        if (dataset is not (DatasetCatalog.FashionMnistName or DatasetCatalog.Cifar10Name or DatasetCatalog.SyntheticName))
            throw new ArgumentException($"--dataset '{dataset}' is not one of: fashion-mnist, cifar10, synthetic");
        var (channels, height, width) = dataset == DatasetCatalog.Cifar10Name ? (3, 32, 32) : (1, 28, 28);

        var workers = Get<int>(WorkersOption);
        if (workers < 1 || workers > 256) throw new ArgumentException($"--workers {workers} must be between 1 and 256");
        var threads = Get<int>(ThreadsOption);
        if (threads < 0) throw new ArgumentException($"--threads-per-worker {threads} must be positive (or 0 for automatic)");
        if (threads == 0) threads = Math.Max(1, Environment.ProcessorCount / workers);
        var epochs = Get<int>(EpochsOption);
        if (epochs < 1) throw new ArgumentException($"--epochs {epochs} must be at least 1");
        var batch = Get<int>(BatchOption);
        if (batch < 1) throw new ArgumentException($"--batch-size {batch} must be at least 1");
        var lr = Get<double>(LrOption);
        if (!(lr > 0) || !double.IsFinite(lr)) throw new ArgumentException($"--lr {lr} must be a positive number");
        var warmup = Get<double>(WarmupOption);
        if (!(warmup >= 0) || warmup > epochs) throw new ArgumentException($"--warmup-epochs {warmup} must be between 0 and --epochs ({epochs})");
        var momentum = Get<double>(MomentumOption);
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentException($"--momentum {momentum} must be in [0, 1)");
        var weightDecay = Get<double>(WeightDecayOption);
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay)) throw new ArgumentException($"--weight-decay {weightDecay} must be >= 0");
        var trainLimit = Get<int>(TrainLimitOption);
        var testLimit = Get<int>(TestLimitOption);
        if (trainLimit < 0 || testLimit < 0) throw new ArgumentException("--train-limit and --test-limit must be >= 0");
        var maxSteps = Get<long>(MaxStepsOption);
        if (maxSteps < 0) throw new ArgumentException($"--max-steps {maxSteps} must be >= 0");
        var timeout = Get<double>(ShardTimeoutOption);
        if (!(timeout > 0)) throw new ArgumentException($"--shard-timeout {timeout} must be a positive number of seconds");
        var joinTimeout = Get<double>(JoinTimeoutOption);
        if (!(joinTimeout > 0) || !double.IsFinite(joinTimeout)) throw new ArgumentException($"--join-timeout {joinTimeout} must be a positive number of seconds");
        var maxAttempts = Get<int>(MaxShardAttemptsOption);
        if (maxAttempts < 1) throw new ArgumentException($"--max-shard-attempts {maxAttempts} must be at least 1");
        var dataPath = (string?)value(DataOption);
        if (dataPath is not null && !Directory.Exists(dataPath)) throw new ArgumentException($"--data '{dataPath}' is not a directory");
        if (dataset == DatasetCatalog.Cifar10Name && dataPath is null) throw new ArgumentException("--dataset cifar10 needs --data DIR (the folder with data_batch_*.bin)");

        var model = new ModelSpec(architecture, Get<int>(DepthOption), Get<int>(WidthOption), norm, channels, height, width, 10,
            Get<float>(ResidualScaleOption), Get<bool>(ZeroInitOption), precision, Get<bool>(ChannelsLastOption));
        if (model.Validate() is { } problem) throw new ArgumentException($"--depth/--width/--residual-scale: {problem}");
        var augment = AugmentationPolicy.Resolve(Get<string>(AugmentOption), Get<bool>(NoAugmentOption), epochs);
        var data = new DataSpec(dataset, dataPath, augment ? 2 : 0, augment, trainLimit, testLimit);
        var seed = Get<int>(SeedOption);
        var plan = new TrainingPlan(epochs, batch, seed,
            new LearningRateSchedule(LearningRateSchedule.LinearScaling(lr, batch), schedule, warmup),
            MinimumWorkers: workers, ShardTimeout: TimeSpan.FromSeconds(timeout), MaxSteps: maxSteps)
        {
            JoinTimeout = TimeSpan.FromSeconds(joinTimeout),
            MaxShardAttempts = maxAttempts,
        };
        var output = (string?)value(OutputOption) ?? Path.Combine("runs", $"{model.Name}-{DateTime.Now:yyyyMMdd-HHmmss}");
        return new TrainingJob(model, data, plan, new SgdSettings(momentum, true, weightDecay), workers, threads, output);
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken invocationCancelled)
    {
        using var signals = new StopSignals(invocationCancelled, Console.Out);
        var cancellationToken = signals.Token;
        TrainingJob job;
        RunSetup setup;
        ObservabilitySettings watch;
        try
        {
            job = Bind(ParseFrom(parse));
            (job, setup) = BindRun(parse, job);
            watch = ObservabilityOptions.Bind(parse);
            job = job with { Plan = job.Plan with { HealthEvery = watch.HealthEvery } };
        }
        catch (Exception error) when (error is ArgumentException or CheckpointException)
        {
            Console.Error.WriteLine($"error: {error.Message}");
            return 2;
        }
        var output = job.OutputDirectory!;
        await using var node = await TrainingNode.StartAsync(setup.Cluster, job, cancellationToken, setup.Faults);
        Console.WriteLine($"Training {job.Model.Name} on {job.Data.Name} with {node.Workers.Description}, " +
            $"global batch {job.Plan.GlobalBatch}, peak lr {job.Plan.Schedule.PeakLearningRate:G4}, {job.Plan.Epochs} epochs, " +
            $"augmentation {(job.Data.HorizontalFlip || job.Data.CropPadding > 0 ? "on" : "off")}, seed {job.Plan.Seed}");
        if (setup.Resume is { } resume)
            Console.WriteLine($"Resuming from {setup.ResumePath} at step {resume.Header.Step} (epoch {resume.Header.Epoch + 1})");
        Console.WriteLine($"Output: {Path.GetFullPath(output)}");
        var model = RunModel.Build(job.Model, job.Plan.Seed);
        using var metrics = new MetricsFile(output, append: setup.Resume is not null);
        var reporter = new ConsoleReporter(Console.Out, !Console.IsOutputRedirected, job.Plan.Epochs);
        await using var observability = await RunObservability.StartAsync(watch, job, warning =>
        {
            reporter.OnNotice(new TrainingNotice($"warning: {warning}"));
            metrics.OnNotice(new TrainingNotice($"warning: {warning}"));
        }, cancellationToken: cancellationToken, model: model);
        if (observability.Dashboard is { } dashboard)
            Console.WriteLine($"Dashboard: {dashboard.Url} (metrics: {dashboard.Url}metrics)" + (observability.DashboardNote is { } note ? $"; {note}" : ""));
        Console.WriteLine($"Model: {model.ParameterCount:N0} trainable parameters");
        if (node.Description is { } clusterNode) Console.WriteLine(clusterNode);
        var dataJob = job;
        var checkpoints = new CheckpointWriter(job, output, model.ParameterCount, setup.Checkpoints, setup.KeepCheckpoints, Console.Out,
            // In one process the workers opened the data in this process (cached): record what the run trains on.
            setup.Cluster is null ? () => PreparedData.Get(dataJob.Data).Fingerprint : null);
        Console.WriteLine($"Checkpoints: {setup.Checkpoints}, at the end and on failure; the last {setup.KeepCheckpoints} kept");
        var resumePoint = setup.Resume is { } from
            ? new TrainingRun.ResumePoint(from.State, from.Momentum, from.Header.Step, from.Header.WeightsVersion)
            : null;
        var options = new TrainingRun.RunOptions(resumePoint, actors => checkpoints.Attach(actors.ParameterServer), model);
        var outcome = await TrainingRun.RunAsync(node.System, job, new CompositeObserver(reporter, metrics, checkpoints, observability.Observer),
            node.Workers, cancellationToken, options);
        ReportWorkers(outcome);
        observability.Telemetry.Finish(outcome.Succeeded ? "finished" : outcome.Stopped ? "stopped" : "failed");
        if (observability.HealthSummary(job.Plan.HealthEvery) is { } healthSummary) Console.WriteLine(healthSummary);
        if (observability.Timeline is { } timeline) Console.WriteLine($"Timeline: {timeline.Path}");
        if (observability.TensorBoard is { } tensorBoard) Console.WriteLine($"TensorBoard: {tensorBoard.Directory}");
        if (outcome.Stopped) return await ReportStopAsync(outcome, checkpoints, output, signals.Received);
        if (!outcome.Succeeded)
        {
            Console.Error.WriteLine($"Training failed at step {outcome.Failed!.Step}: {outcome.Failed.Reason}");
            if (outcome.Parameters is { StepsApplied: > 0 } last && await checkpoints.WriteFinalAsync(last))
                Console.Error.WriteLine($"Wrote the parameter server's last state (step {last.StepsApplied}) to {Path.Combine(output, Checkpoint.FileName)}; " +
                    $"continue with: distributed train --resume {output} (and the same options)");
            return 1;
        }
        await checkpoints.WriteFinalAsync(outcome.Parameters!);
        Console.WriteLine($"Final test accuracy {outcome.Finished!.FinalTestAccuracy:P2} after {outcome.Finished.Steps} steps " +
            $"({outcome.Finished.ReassignedShards} shards reassigned, {outcome.Finished.DiscardedResults} results discarded).");
        Console.WriteLine($"Wrote {Path.Combine(output, Checkpoint.FileName)} and {metrics.Path}");
        return 0;
    }

    /// <summary>
    /// A stopped run keeps what it learned: the state after its last applied step goes to checkpoint.bin, which
    /// `--resume` continues to the same weights an uninterrupted run would reach.
    /// </summary>
    private static async Task<int> ReportStopAsync(TrainingOutcome outcome, CheckpointWriter checkpoints, string output, System.Runtime.InteropServices.PosixSignal? signal)
    {
        // 128 + signal number is the shell's convention for "ended by a signal".
        var exitCode = signal switch { System.Runtime.InteropServices.PosixSignal.SIGINT => 130, System.Runtime.InteropServices.PosixSignal.SIGTERM => 143, _ => 1 };
        if (outcome.Parameters is not { StepsApplied: > 0 } parameters)
        {
            Console.WriteLine("Stopped before any step was applied; no checkpoint written.");
            return exitCode;
        }
        await checkpoints.WriteFinalAsync(parameters);
        Console.WriteLine($"Stopped after step {parameters.StepsApplied}. Wrote {Path.Combine(output, Checkpoint.FileName)}; " +
            $"continue with: distributed train --resume {output} (and the same options)");
        return exitCode;
    }

    /// <summary>Per worker, the training shards it delivered: shows who did the work (and that late joiners got some).</summary>
    private static void ReportWorkers(TrainingOutcome outcome)
    {
        foreach (var worker in outcome.Workers) Console.WriteLine($"  {worker.Name}: {worker.ShardsCompleted} training shards");
    }

    /// <summary>How this invocation runs, beyond the job itself: cluster or one process, checkpoints, resume.</summary>
    private sealed record RunSetup(ClusterSettings? Cluster, CheckpointSchedule Checkpoints, int KeepCheckpoints, Checkpoint? Resume, string? ResumePath,
        IReadOnlyDictionary<string, FaultPlan>? Faults = null);

    private static (TrainingJob Job, RunSetup Setup) BindRun(ParseResult parse, TrainingJob job)
    {
        var every = parse.GetValue(CheckpointEveryOption);
        if (every < 0) throw new ArgumentException($"--checkpoint-every {every} must be >= 0 (0: by time only)");
        var minutes = parse.GetValue(CheckpointMinutesOption);
        if (!(minutes >= 0) || !double.IsFinite(minutes)) throw new ArgumentException($"--checkpoint-minutes {minutes} must be >= 0 (0: off)");
        var keep = parse.GetValue(KeepCheckpointsOption);
        if (keep < 1) throw new ArgumentException($"--keep-checkpoints {keep} must be at least 1");
        var schedule = new CheckpointSchedule(every, minutes > 0 ? TimeSpan.FromMinutes(minutes) : null);
        ClusterSettings? cluster = null;
        if (parse.GetValue(ClusterOption))
        {
            var minimum = parse.GetValue(MinWorkersOption);
            if (minimum < 1 || minimum > 256) throw new ArgumentException($"--min-workers {minimum} must be between 1 and 256");
            var configuration = NodeConfiguration.Load(ClusterRoles.Coordinator, new Dictionary<string, string?>
            {
                ["Cluster:Hostname"] = parse.GetValue(HostnameOption),
                ["Cluster:Port"] = parse.GetValue(PortOption)?.ToString(CultureInfo.InvariantCulture),
                ["Cluster:PublicHostname"] = parse.GetValue(PublicHostnameOption),
                ["Cluster:TensorPort"] = parse.GetValue(TensorPortOption)?.ToString(CultureInfo.InvariantCulture),
                ["Cluster:AllowInsecure"] = parse.GetValue(InsecureOption) ? "true" : null,
            });
            cluster = ClusterSettings.From(configuration, new ClusterSettings { Port = ClusterSettings.DefaultCoordinatorPort });
            if (InsecureBinding.Warning(cluster) is { } warning) Console.Error.WriteLine($"warning: {warning}");
            job = job with { Plan = job.Plan with { MinimumWorkers = minimum } };
        }
        else if (parse.GetResult(MinWorkersOption) is { Implicit: false } || parse.GetValue(HostnameOption) is not null)
        {
            throw new ArgumentException("--min-workers and --hostname only apply with --cluster");
        }
        Checkpoint? resume = null;
        var resumePath = parse.GetValue(ResumeOption);
        if (resumePath is not null)
        {
            resume = Checkpoint.Read(resumePath);
            var differences = resume.Header.DifferencesFrom(job, RunModel.Build(job.Model, job.Plan.Seed).InitialState.Length,
                cluster is null ? LocalData(job, resumePath) : null);
            if (differences.Count > 0)
            {
                throw new ArgumentException($"--resume {resumePath}: the checkpoint was written by a different run, refusing to resume it " +
                    $"({string.Join("; ", differences)}). Pass the original run's options.");
            }
            if (parse.GetValue(OutputOption) is null)
                job = job with { OutputDirectory = Directory.Exists(resumePath) ? resumePath : Path.GetDirectoryName(Path.GetFullPath(resumePath)) };
        }
        var faults = BindFaults(parse, job, cluster is not null);
        return (job, new RunSetup(cluster, schedule, keep, resume, resumePath, faults));
    }

    /// <summary>In one process, `--fault worker-N:...` entries name in-process workers; cluster workers are given their plans themselves.</summary>
    private static IReadOnlyDictionary<string, FaultPlan>? BindFaults(ParseResult parse, TrainingJob job, bool cluster)
    {
        if (parse.GetValue(FaultOption) is not { Length: > 0 } texts) return null;
        if (cluster) throw new ArgumentException("--fault with --cluster: give each worker node its plan (distributed-worker --fault ..., or DISTRIBUTED_WORKER__FAULT)");
        var faults = FaultPlanParser.ParseByWorker(texts, Enumerable.Range(0, job.Workers).Select(i => $"worker-{i}").ToList());
        foreach (var (worker, plan) in faults) Console.WriteLine($"Fault plan: {worker} rehearses {plan}");
        return faults;
    }

    /// <summary>The fingerprint of the data in-process workers will open (cached for them); a cluster coordinator never opens the data.</summary>
    private static DatasetFingerprint LocalData(TrainingJob job, string resumePath)
    {
        try
        {
            return PreparedData.Get(job.Data).Fingerprint;
        }
        catch (Exception error) when (error is DatasetFormatException or IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--resume {resumePath}: cannot open the dataset to compare it with the checkpoint's: {error.Message}");
        }
    }
}
