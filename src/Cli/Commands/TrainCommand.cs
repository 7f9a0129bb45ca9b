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
using Distributed.Model.Runtime;
using Distributed.Worker;
using Distributed.Worker.Faults;

namespace Distributed.Cli.Commands;

/// <summary>`train`: every hyperparameter of a run, with its default and why, in one place.</summary>
public static partial class TrainCommand
{
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


    private static Func<Option, object?> ParseFrom(ParseResult result) => option => option switch
    {
        Option<string> o => result.GetValue(o),
        Option<int> o => result.GetValue(o),
        Option<long> o => result.GetValue(o),
        Option<double> o => result.GetValue(o),
        Option<double?> o => result.GetValue(o),
        Option<float> o => result.GetValue(o),
        Option<bool> o => result.GetValue(o),
        Option<bool?> o => result.GetValue(o),
        _ => throw new InvalidOperationException(option.Name),
    };

    /// <summary>The issue's largest K; every model here has far more than 64 blocks of 16 values to split.</summary>
    private const int MaxParameterServers = 64;

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
        var (precision, channelsLast) = ComputePolicy.Resolve(Get<string>(PrecisionOption), (bool?)value(ChannelsLastOption), Bf16Hardware.OnThisCpu);
        var compression = Get<string>(CompressOption).ToLowerInvariant() switch
        {
            "none" => GradientCompression.None,
            "fp16" => GradientCompression.Float16,
            "bf16" => GradientCompression.BFloat16,
            var other => throw new ArgumentException($"--compress '{other}' is not one of: none, fp16, bf16"),
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
        var (warmup, labelSmoothing) = RecipePolicy.Resolve(Get<double?>(WarmupOption), Get<double?>(LabelSmoothingOption), epochs);
        if (!(warmup >= 0) || warmup > epochs) throw new ArgumentException($"--warmup-epochs {warmup} must be between 0 and --epochs ({epochs})");
        var momentum = Get<double>(MomentumOption);
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentException($"--momentum {momentum} must be in [0, 1)");
        var weightDecay = Get<double>(WeightDecayOption);
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay)) throw new ArgumentException($"--weight-decay {weightDecay} must be >= 0");
        var trainLimit = Get<int>(TrainLimitOption);
        var testLimit = Get<int>(TestLimitOption);
        if (trainLimit < 0 || testLimit < 0) throw new ArgumentException("--train-limit and --test-limit must be >= 0");
        var evaluateEvery = Get<int>(EvaluateEveryOption);
        if (evaluateEvery < 0) throw new ArgumentException($"--evaluate-every {evaluateEvery} must be >= 0 (0: evaluate only after the last epoch)");
        var maxSteps = Get<long>(MaxStepsOption);
        if (maxSteps < 0) throw new ArgumentException($"--max-steps {maxSteps} must be >= 0");
        var timeout = Get<double>(ShardTimeoutOption);
        if (!(timeout > 0)) throw new ArgumentException($"--shard-timeout {timeout} must be a positive number of seconds");
        var joinTimeout = Get<double>(JoinTimeoutOption);
        if (!(joinTimeout > 0) || !double.IsFinite(joinTimeout)) throw new ArgumentException($"--join-timeout {joinTimeout} must be a positive number of seconds");
        var maxAttempts = Get<int>(MaxShardAttemptsOption);
        if (maxAttempts < 1) throw new ArgumentException($"--max-shard-attempts {maxAttempts} must be at least 1");
        var backupWorkers = Get<int>(BackupWorkersOption);
        if (backupWorkers < 0) throw new ArgumentException($"--backup-workers {backupWorkers} must be >= 0");
        // With --cluster the workers are --min-workers, checked once that is known (BindRun).
        if (!Get<bool>(ClusterOption) && backupWorkers >= workers)
            throw new ArgumentException($"--backup-workers {backupWorkers} must be less than --workers {workers}: each step is applied with the first workers - b shards");
        var servers = Get<int>(PsShardsOption);
        if (servers < 1 || servers > MaxParameterServers) throw new ArgumentException($"--ps-shards {servers} must be between 1 and {MaxParameterServers}");
        var staleness = Get<int>(StalenessOption);
        if (staleness < 0 || staleness > StepWindow.MaxStaleness)
            throw new ArgumentException($"--staleness {staleness} must be between 0 (synchronous) and {StepWindow.MaxStaleness} steps");
        // Backup workers drop a step's late shards at its barrier; under bounded staleness there is no barrier to drop them from.
        if (staleness >= 1 && backupWorkers > 0)
            throw new ArgumentException($"--staleness {staleness} cannot be combined with --backup-workers {backupWorkers}: backup workers drop a step's " +
                "late shards at its barrier, and bounded staleness has no barrier (use one or the other; docs/stragglers.md)");
        var dataPath = (string?)value(DataOption);
        if (dataPath is not null && !Directory.Exists(dataPath)) throw new ArgumentException($"--data '{dataPath}' is not a directory");
        if (dataset == DatasetCatalog.Cifar10Name && dataPath is null) throw new ArgumentException("--dataset cifar10 needs --data DIR (the folder with data_batch_*.bin)");

        var model = new ModelSpec(architecture, Get<int>(DepthOption), Get<int>(WidthOption), norm, channels, height, width, 10,
            Get<float>(ResidualScaleOption), Get<bool>(ZeroInitOption), precision, channelsLast);
        if (model.Validate() is { } problem) throw new ArgumentException($"--depth/--width/--residual-scale: {problem}");
        var augmentation = AugmentationPolicy.Resolve(Get<string>(AugmentOption), Get<bool>(NoAugmentOption), epochs);
        var data = new DataSpec(dataset, dataPath, augmentation.CropPadding, augmentation.HorizontalFlip, trainLimit, testLimit);
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new ArgumentException($"--label-smoothing {labelSmoothing} must be in [0, 1)");
        var seed = Get<int>(SeedOption);
        var plan = new TrainingPlan(epochs, batch, seed,
            new LearningRateSchedule(LearningRateSchedule.LinearScaling(lr, batch), schedule, warmup),
            MinimumWorkers: workers, ShardTimeout: TimeSpan.FromSeconds(timeout), MaxSteps: maxSteps)
        {
            JoinTimeout = TimeSpan.FromSeconds(joinTimeout),
            MaxShardAttempts = maxAttempts,
            Speculate = !Get<bool>(NoSpeculateOption),
            Staleness = staleness,
            BackupWorkers = backupWorkers,
            EvaluateEvery = evaluateEvery,
        };
        var output = (string?)value(OutputOption) ?? Path.Combine("runs", $"{model.Name}-{DateTime.Now:yyyyMMdd-HHmmss}");
        return new TrainingJob(model, data, plan, new SgdSettings(momentum, true, weightDecay), workers, threads, output)
        {
            ParameterServers = servers,
            Compression = compression,
            LabelSmoothing = labelSmoothing,
            FlipAveragedEvaluation = Get<bool>(TestFlipOption),
        };
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
            $"global batch {job.Plan.GlobalBatch}, peak lr {job.Plan.Schedule.PeakLearningRate:G4} after {job.Plan.Schedule.WarmupEpochs:G3} warmup epochs, {job.Plan.Epochs} epochs, " +
            $"augmentation {AugmentationName(job.Data)}, seed {job.Plan.Seed}" +
            (job.LabelSmoothing > 0 ? $", label smoothing {job.LabelSmoothing:G3}" : "") + (job.FlipAveragedEvaluation ? ", test-time flip averaging" : ""));
        if (setup.Resume is null && ShortRunRecipeLine(parse, job) is { } recipe) Console.WriteLine(recipe);
        Console.WriteLine(ComputePolicy.Describe(job.Model.Precision, job.Model.ChannelsLast,
            automatic: IsAutomaticPrecision(parse, setup.Resume is not null), Bf16Hardware.Units));
        if (setup.Resume is { } resume)
            Console.WriteLine($"Resuming from {setup.ResumePath} at step {resume.Header.Step} (epoch {resume.Header.Epoch + 1})");
        Console.WriteLine($"Output: {Path.GetFullPath(output)}");
        var model = RunModel.Build(job.Model, job.Plan.Seed);
        using var metrics = new MetricsFile(output, append: setup.Resume is not null);
        var reporter = new ConsoleReporter(Console.Out, !Console.IsOutputRedirected, job.Plan.Epochs, showSkipped: job.Plan.BackupWorkers > 0);
        await using var observability = await RunObservability.StartAsync(watch, job, warning =>
        {
            reporter.OnNotice(new TrainingNotice($"warning: {warning}"));
            metrics.OnNotice(new TrainingNotice($"warning: {warning}"));
        }, cancellationToken: cancellationToken, model: model, tensorChannel: node.Channel);
        if (observability.Dashboard is { } dashboard)
            Console.WriteLine($"Dashboard: {dashboard.Url} (metrics: {dashboard.Url}metrics)" + (observability.DashboardNote is { } note ? $"; {note}" : ""));
        Console.WriteLine($"Model: {model.ParameterCount:N0} trainable parameters" +
            (job.ParameterServers > 1 ? $", {job.ParameterServers} parameter servers of ~{model.InitialState.Length / job.ParameterServers:N0} values each" : ""));
        if (job.Compression != GradientCompression.None)
        {
            var stateLength = model.InitialState.Length;
            var wireBytes = (long)GradientEncoding.WireLength(job.Compression, stateLength, model.ParameterCount) * sizeof(float);
            Console.WriteLine($"Gradient push: {GradientEncoding.Name(job.Compression)} with error feedback, {wireBytes:N0} bytes per shard result between nodes " +
                $"(fp32: {(long)stateLength * sizeof(float):N0})");
        }
        if (node.Description is { } clusterNode) Console.WriteLine(clusterNode);
        if (BackupWorkersLine(job.Plan) is { } backupLine) Console.WriteLine(backupLine);
        var dataJob = job;
        var checkpoints = new CheckpointWriter(job, output, model.ParameterCount, setup.Checkpoints, setup.KeepCheckpoints, Console.Out,
            // In one process the workers opened the data in this process (cached): record what the run trains on.
            setup.Cluster is null ? () => PreparedData.Get(dataJob.Data).Fingerprint : null);
        Console.WriteLine($"Checkpoints: {setup.Checkpoints}, at the end and on failure; the last {setup.KeepCheckpoints} kept");
        var resumePoint = setup.Resume is { } from
            ? new TrainingRun.ResumePoint(from.State, from.Momentum, from.Header.Step, from.Header.WeightsVersion)
            : null;
        Func<RangeServerSetup, Akka.Actor.Props>? rangeServers = null;
        if (node.Servers is { } servers)
        {
            try
            {
                await servers.WaitAsync(job.Plan.JoinTimeout, Console.Out, cancellationToken);
            }
            catch (TimeoutException error)
            {
                Console.Error.WriteLine($"error: {error.Message}");
                return 1;
            }
            rangeServers = servers.Links(model.InitialState.Length, model.ParameterCount);
        }
        var options = new TrainingRun.RunOptions(resumePoint, actors => checkpoints.Attach(actors.ParameterServer), model, rangeServers);
        var outcome = await TrainingRun.RunAsync(node.System, job, new CompositeObserver(reporter, metrics, checkpoints, observability.Observer),
            node.Workers, cancellationToken, options);
        ReportWorkers(outcome);
        if (node.Channel is { } channel)
            Console.WriteLine($"Tensor channel of this node: {channel.BytesSent:N0} bytes sent, {channel.BytesReceived:N0} bytes received");
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
            else if (outcome.Parameters is null && checkpoints.LastWrittenStep >= 0)
                // The state could not be assembled (a server node holding a range is gone): the last checkpoint on disk is the way back.
                Console.Error.WriteLine($"The parameter server's last state could not be read; the last checkpoint written is step {checkpoints.LastWrittenStep} " +
                    $"in {Path.Combine(output, Checkpoint.FileName)}: continue with: distributed train --resume {output} (and the same options)");
            return 1;
        }
        await checkpoints.WriteFinalAsync(outcome.Parameters!);
        Console.WriteLine($"Final test accuracy {outcome.Finished!.FinalTestAccuracy:P2} after {outcome.Finished.Steps} steps " +
            $"({outcome.Finished.ReassignedShards} shards reassigned, {outcome.Finished.DiscardedResults} results discarded).");
        if (job.Plan.BackupWorkers > 0 && outcome.Finished.Samples is { } ledger)
            Console.WriteLine($"Sample ledger: {ledger.Applied:N0} samples applied, {ledger.Skipped:N0} skipped in shards abandoned by --backup-workers " +
                $"{job.Plan.BackupWorkers}, {ledger.Duplicated} duplicated, {ledger.Dropped} dropped.");
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

    private static string AugmentationName(DataSpec data) => (data.CropPadding > 0, data.HorizontalFlip) switch
    {
        (true, true) => "on",
        (false, true) => "flip",
        (true, false) => $"crop (padding {data.CropPadding})",
        _ => "off",
    };

    /// <summary>What --backup-workers b means for this run, in its own numbers; null without backup workers.</summary>
    public static string? BackupWorkersLine(TrainingPlan plan)
    {
        var b = plan.BackupWorkers;
        if (b == 0) return null;
        var workers = plan.MinimumWorkers;
        var applied = workers - b;
        var perShard = (double)plan.GlobalBatch / workers;
        return $"Backup workers: {b}. Each step is cut into one shard per live worker and applied with all but the last {b} to arrive: with " +
            $"{workers} workers the first {applied}, about {applied * perShard:0} of the {plan.GlobalBatch} samples; the late shards' samples are counted " +
            "as skipped. The weights depend on which shards arrive first, so runs are not reproducible.";
    }

    /// <summary>Per worker, the training shards it delivered: shows who did the work (and that late joiners got some).</summary>
    private static void ReportWorkers(TrainingOutcome outcome)
    {
        foreach (var worker in outcome.Workers)
        {
            Console.WriteLine($"  {worker.Name}: {worker.ShardsCompleted} training shards" +
                (worker.SpeculativeCopies > 0 ? $", {worker.SpeculativeCopies} speculative copies ({worker.SpeculativeWins} won)" : "") +
                (worker.AbandonedShards > 0 ? $", {worker.AbandonedShards} abandoned (backup workers)" : ""));
        }
    }

    /// <summary>
    /// Names the values of a run of up to <see cref="RecipePolicy.ShortRunMaxEpochs"/> epochs that came from the short-run
    /// defaults rather than the command line, and how to get the long-run recipe; null when there are none.
    /// </summary>
    public static string? ShortRunRecipeLine(ParseResult parse, TrainingJob job)
    {
        if (!RecipePolicy.IsShortRun(job.Plan.Epochs)) return null;
        var defaulted = new List<string>();
        if (parse.GetValue(WarmupOption) is null) defaulted.Add($"a {job.Plan.Schedule.WarmupEpochs:G3}-epoch warmup");
        if (parse.GetValue(LabelSmoothingOption) is null) defaulted.Add($"label smoothing {job.LabelSmoothing:G3}");
        if (defaulted.Count == 0) return null;
        return $"Recipe: {string.Join(" and ", defaulted)}, the default{(defaulted.Count > 1 ? "s" : "")} for runs of up to {RecipePolicy.ShortRunMaxEpochs} " +
            $"epochs (--warmup-epochs {RecipePolicy.WarmupEpochs:G3} --label-smoothing {RecipePolicy.LabelSmoothing:G3}: the long-run recipe)";
    }

    /// <summary>Whether --precision auto chose this run's precision: not when it was given, nor when a resumed run took its checkpoint's.</summary>
    private static bool IsAutomaticPrecision(ParseResult parse, bool resumed) =>
        string.Equals(parse.GetValue(PrecisionOption), ComputePolicy.Auto, StringComparison.OrdinalIgnoreCase)
        && !(resumed && !PrecisionGiven(parse));

    /// <summary>Whether the command line set --precision (its default, auto, is not a choice a resumed run must follow).</summary>
    private static bool PrecisionGiven(ParseResult parse) => parse.GetResult(PrecisionOption) is { Implicit: false };

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
                ["Cluster:ServerNodes"] = parse.GetValue(ServerNodesOption)?.ToString(CultureInfo.InvariantCulture),
            });
            cluster = ClusterSettings.From(configuration, new ClusterSettings { Port = ClusterSettings.DefaultCoordinatorPort });
            if (cluster.ServerNodes > job.ParameterServers)
                throw new ArgumentException($"--server-nodes {cluster.ServerNodes} needs at least as many ranges (--ps-shards {job.ParameterServers}): " +
                    "a server node without a range would hold nothing");
            // Under bounded staleness the coordinator moves a stale shard's running statistics onto the newer weights
            // (StaleStatistics); with server nodes the shard's buffer stays on its worker and never passes through it.
            if (cluster.ServerNodes > 0 && job.Plan.Staleness > 0)
                throw new ArgumentException($"--staleness {job.Plan.Staleness} cannot be combined with --server-nodes {cluster.ServerNodes}: a stale shard's " +
                    "running statistics are moved onto the newer weights on the coordinator's node, and with server nodes its buffer goes from the worker " +
                    "straight to the servers (use one or the other; docs/stragglers.md)");
            if (InsecureBinding.Warning(cluster) is { } warning) Console.Error.WriteLine($"warning: {warning}");
            if (job.Plan.BackupWorkers >= minimum)
                throw new ArgumentException($"--backup-workers {job.Plan.BackupWorkers} must be less than --min-workers {minimum}: each step is applied with the first workers - b shards");
            job = job with { Plan = job.Plan with { MinimumWorkers = minimum } };
        }
        else if (parse.GetResult(MinWorkersOption) is { Implicit: false } || parse.GetValue(HostnameOption) is not null
            || parse.GetValue(ServerNodesOption) is not null)
        {
            throw new ArgumentException("--min-workers, --server-nodes and --hostname only apply with --cluster");
        }
        Checkpoint? resume = null;
        var resumePath = parse.GetValue(ResumeOption);
        if (resumePath is not null)
        {
            resume = Checkpoint.Read(resumePath);
            // A run resumes with the recipe it started with: an option left unset takes the checkpoint's value, not
            // today's default for this --epochs (RecipePolicy), so a checkpoint from before a default changed still resumes.
            if (parse.GetValue(WarmupOption) is null)
                job = job with { Plan = job.Plan with { Schedule = job.Plan.Schedule with { WarmupEpochs = resume.Header.WarmupEpochs } } };
            if (parse.GetValue(LabelSmoothingOption) is null) job = job with { LabelSmoothing = resume.Header.LabelSmoothing };
            // The same for what workers compute in (ComputePolicy): a run started in fp32, before bf16 became the
            // default on this CPU, or on another machine, continues in fp32.
            if (!PrecisionGiven(parse))
                job = job with { Model = job.Model with { Precision = resume.Header.Model.Precision } };
            if (parse.GetValue(ChannelsLastOption) is null)
                job = job with { Model = job.Model with { ChannelsLast = resume.Header.Model.ChannelsLast } };
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
