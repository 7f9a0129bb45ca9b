using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Experiments;

namespace Distributed.Cli.Commands;

/// <summary>
/// The <c>experiment</c> command and its subcommands. Program.cs adds <see cref="Create"/> to its root command;
/// every option falls back to the experiment's <c>Default</c> options, or its <c>Quick</c> ones with --quick
/// (<see cref="ExperimentOptionBinder{TOptions}"/>).
/// </summary>
public static class ExperimentCommands
{
    public static Command Create() => new("experiment", "Experiments that show why residual nets train when deep plain nets do not.")
    {
        CreateShattered(),
        CreateVanishing(),
        CreateDepth(),
    };

    private static Command CreateShattered()
    {
        var (d, q) = (ShatteredOptions.Default, ShatteredOptions.Quick);
        var binder = new ExperimentOptionBinder<ShatteredOptions>("shattered", d, q,
                $"Few depths and seeds: runs in seconds (depths {Join(q.Depths)}, {q.Seeds} seeds, an ensemble of {q.EnsembleSeeds}).")
            .Add(IntList("--depths", $"Rectifier layers per network, comma-separated (default {Join(d.Depths)}; {Join(q.Depths)} with --quick)."), (o, v) => o with { Depths = v })
            .Add<int>("--width", "units", $"Units per hidden layer (default {d.Width}).", (o, v) => o with { Width = v })
            .Add<int>("--points", "count", $"Grid points on [-2, 2] where the gradient is taken (default {d.Points}).", (o, v) => o with { Points = v })
            .Add<int>("--seeds", "count", $"Initialisations averaged per variant and depth (default {d.Seeds}; {q.Seeds} with --quick).", (o, v) => o with { Seeds = v })
            .Add<int>("--seed", "seed", $"Base seed; the same seed reproduces every number (default {d.Seed}).", (o, v) => o with { Seed = v })
            .Add<int>("--max-lag", "lag", $"Largest autocorrelation lag written to the CSV (default {d.MaxLag}).", (o, v) => o with { MaxLag = v })
            .Add(StringList("--variants", $"Variants to run, comma-separated (default all: {string.Join(", ", d.Variants)})."), (o, v) => o with { Variants = v })
            .Add<int>("--ensemble-seeds", "count", $"Initialisations over which gradients at two inputs are correlated (default {d.EnsembleSeeds}; {q.EnsembleSeeds} with --quick).", (o, v) => o with { EnsembleSeeds = v })
            .Add(DoubleList("--ensemble-distances", $"Distances between the two inputs, comma-separated (default {string.Join(",", d.EnsembleDistances.Select(Invariant))})."), (o, v) => o with { EnsembleDistances = v })
            .Add(StringList("--ensemble-variants", $"Batch-normed variants of the ensemble study, comma-separated (default {string.Join(", ", d.EnsembleVariants)}; {string.Join(", ", q.EnsembleVariants)} with --quick)."), (o, v) => o with { EnsembleVariants = v })
            .Add<int>("--threads", "count", $"libtorch intra-op threads (default {d.Threads}; the networks are too small to split).", (o, v) => o with { Threads = v });

        var command = new Command("shattered", "Balduzzi et al. 2017: how the correlation of d output/d input between inputs decays with depth in plain nets and resnets, over the input grid and across initialisations.");
        foreach (var option in binder.Options) command.Add(option);
        command.SetAction(parse => Execute(parse, "shattered", binder, options => options.Validate(), (options, directory, log) =>
        {
            var results = ShatteredExperiment.Run(options, log);
            ShatteredReport.Write(results, directory);
            log.WriteLine();
            foreach (var verdict in results.Verdicts) log.WriteLine(verdict);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult());
        return command;
    }

    private static Command CreateVanishing()
    {
        var (d, q) = (VanishingOptions.Default, VanishingOptions.Quick);
        var binder = new ExperimentOptionBinder<VanishingOptions>("vanishing", d, q,
                $"Few depths and seeds: runs in seconds (depths {Join(q.Depths)}, {q.Seeds} seeds).")
            .Add(IntList("--depths", $"Activation layers per network, comma-separated (default {Join(d.Depths)}; {Join(q.Depths)} with --quick)."), (o, v) => o with { Depths = v })
            .Add<int>("--width", "units", $"Units per hidden layer (default {d.Width}).", (o, v) => o with { Width = v })
            .Add<int>("--inputs", "count", $"Input features of the fixed random batch (default {d.Inputs}).", (o, v) => o with { Inputs = v })
            .Add<int>("--classes", "count", $"Classes of the random labels (default {d.Classes}).", (o, v) => o with { Classes = v })
            .Add<int>("--batch", "count", $"Examples in the fixed batch (default {d.Batch}).", (o, v) => o with { Batch = v })
            .Add<int>("--seeds", "count", $"Initialisations per variant and depth, norms averaged geometrically (default {d.Seeds}; {q.Seeds} with --quick).", (o, v) => o with { Seeds = v })
            .Add<int>("--seed", "seed", $"Base seed; the same seed reproduces every number (default {d.Seed}).", (o, v) => o with { Seed = v })
            .Add<double>("--beta", "scale", $"Residual branch scale β in h + β·F(h) (default {Invariant(d.Beta)}).", (o, v) => o with { Beta = v })
            .Add(StringList("--variants", $"Variants to run, comma-separated (default all: {string.Join(", ", d.Variants)})."), (o, v) => o with { Variants = v })
            .Add<int>("--threads", "count", $"libtorch intra-op threads (default {d.Threads}).", (o, v) => o with { Threads = v });

        var command = new Command("vanishing", "Per-layer weight-gradient norms at initialisation: sigmoid vs ReLU, plain vs residual, across depths.");
        foreach (var option in binder.Options) command.Add(option);
        command.SetAction(parse => Execute(parse, "vanishing", binder, options => options.Validate(), (options, directory, log) =>
        {
            var results = VanishingExperiment.Run(options, log);
            VanishingReport.Write(results, directory);
            log.WriteLine();
            foreach (var v in results.Verdicts) log.WriteLine(v.Verdict);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult());
        return command;
    }

    private static Command CreateDepth()
    {
        var (d, q) = (DepthOptions.Default, DepthOptions.Quick);
        var binder = new ExperimentOptionBinder<DepthOptions>("depth", d, q,
                $"A minute or two on 2 cores: depths {Join(q.Depths)}, {q.TrainLimit} training and {q.TestLimit} test images, {q.Epochs} epochs at batch {q.BatchSize}.")
            .Add(IntList("--depths", $"Depths 6n+2, comma-separated; every family is trained at each (default {Join(d.Depths)}; {Join(q.Depths)} with --quick)."), (o, v) => o with { Depths = v })
            .Add(StringList("--families", $"Families to train, comma-separated: plain (no shortcuts) and/or resnet (default {string.Join(",", d.Families)})."),
                (o, v) => o with { Families = v.Select(f => f.ToLowerInvariant()).ToArray() })
            .Add<string>("--norm", "kind", "Normalization in every block: batch (He et al.), group or none (default batch).",
                (o, v) => o with { Norm = ParseEnum<NormKind>("--norm", v, "batch, group, none") })
            .Add<int>("--epochs", "count", $"Passes over the training set, the same for every model (default {d.Epochs}; {q.Epochs} with --quick).", (o, v) => o with { Epochs = v })
            .Add<int>("--batch-size", "count", $"Global minibatch, split across the workers (default {d.BatchSize}; {q.BatchSize} with --quick).", (o, v) => o with { BatchSize = v })
            .Add<double>("--lr", "rate", $"Peak learning rate for a global batch of 128, scaled linearly with --batch-size (default {Invariant(d.LearningRate)}).", (o, v) => o with { LearningRate = v })
            .Add<string>("--schedule", "kind", "After warmup: linear (to zero), cosine or constant (default linear).",
                (o, v) => o with { Schedule = ParseEnum<ScheduleKind>("--schedule", v, "linear, cosine, constant") })
            .Add<double>("--warmup-epochs", "epochs", $"Linear warmup length in epochs (default {Invariant(d.WarmupEpochs)}).", (o, v) => o with { WarmupEpochs = v })
            .Add(new Option<bool>("--no-augment") { Description = "Disable random crop (padding 2) and horizontal flip." }, (o, v) => o with { Augment = o.Augment && !v })
            .Add<string>("--dataset", "name", "fashion-mnist, cifar10 or synthetic (default fashion-mnist).", (o, v) => o with { Dataset = v.ToLowerInvariant() })
            .Add<string>("--data", "directory", "Dataset directory (default for fashion-mnist: /usr/share/datasets/fashion-mnist).", (o, v) => o with { DataPath = v })
            .Add<int>("--train-limit", "count", $"Use only the first N training images, 0 for all (default {d.TrainLimit}; {q.TrainLimit} with --quick).", (o, v) => o with { TrainLimit = v })
            .Add<int>("--test-limit", "count", $"Use only the first N test images, 0 for all (default {d.TestLimit}; {q.TestLimit} with --quick).", (o, v) => o with { TestLimit = v })
            .Add<int>("--probe-batch", "count", $"Training images in the fixed batch for the per-layer gradient norms (default {d.ProbeBatch}; {q.ProbeBatch} with --quick).", (o, v) => o with { ProbeBatch = v })
            .Add<int>("--workers", "count", "In-process workers of the distributed trainer (default: one per core).", (o, v) => o with { Workers = v })
            .Add<int>("--threads-per-worker", "count", "libtorch threads per worker (default: cores / workers, at least 1).", (o, v) => o with { ThreadsPerWorker = v })
            .Add<int>("--seed", "seed", $"Seed of the weights, data order and augmentation, shared by every model (default {d.Seed}).", (o, v) => o with { Seed = v })
            .Add<double>("--shard-timeout", "seconds", $"Seconds a worker may take for a shard before it goes to another (default {Invariant(d.ShardTimeoutSeconds)}).", (o, v) => o with { ShardTimeoutSeconds = v });
        // Cluster mode is how the models are trained, not what is trained, so it stays out of DepthOptions: the
        // same options as `train --cluster`, and --min-workers takes the place of --workers.
        var cluster = new Option<bool>("--cluster") { Description = "Train every model through distributed-worker processes that join this node (as train --cluster) instead of in-process workers." };
        var minWorkers = new Option<int?>("--min-workers") { Description = "With --cluster: start each model once this many workers have joined (default 1).", HelpName = "count" };
        var hostname = new Option<string?>("--hostname") { Description = "With --cluster: address to bind to (Cluster:Hostname; default 127.0.0.1).", HelpName = "address" };
        var port = new Option<int?>("--port") { Description = "With --cluster: Akka.Remote port workers join (Cluster:Port; default 4053).", HelpName = "port" };

        var command = new Command("depth", "He et al. 2016 degradation: train plain and residual nets of two depths with the same budget through the distributed trainer; training loss, test accuracy and per-layer gradient norms.");
        foreach (var option in binder.Options.Concat([cluster, minWorkers, hostname, port])) command.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ClusterSettings? settings = null;
            return await Execute(parse, "depth", binder, options =>
            {
                options.Validate();
                settings = BindCluster(parse, cluster, minWorkers, hostname, port);
            }, async (options, directory, log) =>
            {
                DepthResults results;
                if (settings is null)
                {
                    results = await DepthExperiment.RunAsync(options, log, cancellationToken);
                }
                else
                {
                    var workers = parse.GetValue(minWorkers) ?? 1;
                    var clustered = options with { Workers = workers };
                    await using var trainer = await ClusterDepthTrainer.StartAsync(settings, clustered.JobFor(clustered.Models()[0]), log, cancellationToken);
                    results = await DepthExperiment.RunAsync(clustered, log, cancellationToken, trainer.TrainAsync,
                        $"a cluster of distributed-worker processes (at least {workers})");
                }
                DepthReport.Write(results, directory);
                log.WriteLine();
                foreach (var verdict in results.Claims) log.WriteLine(verdict);
            });
        });
        return command;
    }

    private static ClusterSettings? BindCluster(ParseResult parse, Option<bool> cluster, Option<int?> minWorkers, Option<string?> hostname, Option<int?> port)
    {
        if (!parse.GetValue(cluster))
        {
            if (parse.GetValue(minWorkers) is not null || parse.GetValue(hostname) is not null || parse.GetValue(port) is not null)
                throw new ArgumentException("--min-workers, --hostname and --port only apply with --cluster.");
            return null;
        }
        if (parse.GetValue(minWorkers) is { } minimum && (minimum < 1 || minimum > 256))
            throw new ArgumentException($"--min-workers {minimum} must be between 1 and 256.");
        var configuration = NodeConfiguration.Load(ClusterRoles.Coordinator, new Dictionary<string, string?>
        {
            ["Cluster:Hostname"] = parse.GetValue(hostname),
            ["Cluster:Port"] = parse.GetValue(port)?.ToString(CultureInfo.InvariantCulture),
        });
        return ClusterSettings.From(configuration, new ClusterSettings { Port = ClusterSettings.DefaultCoordinatorPort });
    }

    /// <summary>
    /// Binds and validates before any tensor exists, runs, and ends with the output directory so that scripts can
    /// take the last line. Invalid options are a usage error (exit 2), not a crash.
    /// </summary>
    private static async Task<int> Execute<TOptions>(ParseResult parse, string name, ExperimentOptionBinder<TOptions> binder,
        Action<TOptions> validate, Func<TOptions, string, TextWriter, Task> run) where TOptions : class
    {
        var log = parse.InvocationConfiguration.Output;
        TOptions options;
        try
        {
            options = binder.Bind(parse);
            validate(options);
        }
        catch (ArgumentException e)
        {
            parse.InvocationConfiguration.Error.WriteLine(e.Message);
            return 2;
        }
        var directory = Path.GetFullPath(parse.GetValue(binder.Output) ?? Path.Combine("runs", "experiments", $"{name}-{DateTime.Now:yyyyMMdd-HHmmss}"));
        await run(options, directory, log);
        log.WriteLine($"Output: {directory}");
        return 0;
    }

    private static T ParseEnum<T>(string option, string value, string known) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(value, out _)
            ? parsed
            : throw new ArgumentException($"{option} '{value}' is not one of: {known}.");

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Accepts "1,2,4", "1 2 4" and repeated options alike.</summary>
    private static Option<int[]> IntList(string name, string description) => ListOption(name, description, (string part, out int value) =>
        int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out value), "an integer");

    private static Option<double[]> DoubleList(string name, string description) => ListOption(name, description, (string part, out double value) =>
        double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out value), "a number");

    private static Option<string[]> StringList(string name, string description) => ListOption(name, description, (string part, out string value) =>
    {
        value = part;
        return true;
    }, "a name");

    private delegate bool TryParse<T>(string text, out T value);

    private static Option<T[]> ListOption<T>(string name, string description, TryParse<T> parse, string what) => new(name)
    {
        Description = description,
        HelpName = "list",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result =>
        {
            var values = new List<T>();
            foreach (var part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                if (parse(part, out var value)) values.Add(value);
                else result.AddError($"'{part}' is not {what}.");
            }
            return values.ToArray();
        },
    };

    private static string Join(IEnumerable<int> values) => string.Join(",", values);
}
