using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Experiments;

namespace Distributed.Cli.Commands;

/// <summary>
/// The <c>experiment</c> command and its subcommands. Program.cs adds <see cref="Create"/> to its root command;
/// every option falls back to the experiment's <c>Default</c> options, or its <c>Quick</c> ones with --quick.
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
        var d = ShatteredOptions.Default;
        var q = ShatteredOptions.Quick;
        var depths = IntListOption("--depths", $"Rectifier layers per network, comma-separated (default {Join(d.Depths)}; {Join(q.Depths)} with --quick).");
        var width = new Option<int?>("--width") { Description = $"Units per hidden layer (default {d.Width}).", HelpName = "units" };
        var points = new Option<int?>("--points") { Description = $"Grid points on [-2, 2] where the gradient is taken (default {d.Points}).", HelpName = "count" };
        var seeds = new Option<int?>("--seeds") { Description = $"Initialisations averaged per variant and depth (default {d.Seeds}; {q.Seeds} with --quick).", HelpName = "count" };
        var seed = new Option<int?>("--seed") { Description = $"Base seed; the same seed reproduces every number (default {d.Seed}).", HelpName = "seed" };
        var maxLag = new Option<int?>("--max-lag") { Description = $"Largest autocorrelation lag written to the CSV (default {d.MaxLag}).", HelpName = "lag" };
        var variants = StringListOption("--variants", $"Variants to run, comma-separated (default all: {string.Join(", ", d.Variants)}).");
        var threads = new Option<int?>("--threads") { Description = $"libtorch intra-op threads (default {d.Threads}; the networks are too small to split).", HelpName = "count" };
        var quick = new Option<bool>("--quick") { Description = $"Few depths and seeds: runs in seconds (depths {Join(q.Depths)}, {q.Seeds} seeds)." };
        var output = OutputOption("shattered");

        var command = new Command("shattered", "Balduzzi et al. 2017: how the correlation of d output/d input between neighbouring inputs decays with depth in plain nets and resnets.")
        {
            depths, width, points, seeds, seed, maxLag, variants, threads, quick, output,
        };
        command.SetAction(parse =>
        {
            var baseline = parse.GetValue(quick) ? q : d;
            var options = baseline with
            {
                Depths = Given(parse, depths) ?? baseline.Depths,
                Width = parse.GetValue(width) ?? baseline.Width,
                Points = parse.GetValue(points) ?? baseline.Points,
                Seeds = parse.GetValue(seeds) ?? baseline.Seeds,
                Seed = parse.GetValue(seed) ?? baseline.Seed,
                MaxLag = parse.GetValue(maxLag) ?? baseline.MaxLag,
                Variants = Given(parse, variants) ?? baseline.Variants,
                Threads = parse.GetValue(threads) ?? baseline.Threads,
            };
            return Execute(parse, "shattered", parse.GetValue(output), options.Validate, (directory, log) =>
            {
                var results = ShatteredExperiment.Run(options, log);
                ShatteredReport.Write(results, directory);
                log.WriteLine();
                foreach (var claim in results.Claims) log.WriteLine($"[{(claim.Holds ? "holds" : "FAILS")}] {claim.Statement}: {claim.Evidence}");
                foreach (var fit in results.Fits) log.WriteLine($"[{(fit.Agrees ? "agrees" : "DIFFERS")}] {fit.Variant.Name}: expected {fit.Variant.ExpectedText} (paper: {fit.Variant.PaperFormula}); {fit.Evidence}");
            });
        });
        return command;
    }

    private static Command CreateVanishing()
    {
        var d = VanishingOptions.Default;
        var q = VanishingOptions.Quick;
        var depths = IntListOption("--depths", $"Activation layers per network, comma-separated (default {Join(d.Depths)}; {Join(q.Depths)} with --quick).");
        var width = new Option<int?>("--width") { Description = $"Units per hidden layer (default {d.Width}).", HelpName = "units" };
        var inputs = new Option<int?>("--inputs") { Description = $"Input features of the fixed random batch (default {d.Inputs}).", HelpName = "count" };
        var classes = new Option<int?>("--classes") { Description = $"Classes of the random labels (default {d.Classes}).", HelpName = "count" };
        var batch = new Option<int?>("--batch") { Description = $"Examples in the fixed batch (default {d.Batch}).", HelpName = "count" };
        var seeds = new Option<int?>("--seeds") { Description = $"Initialisations per variant and depth, norms averaged geometrically (default {d.Seeds}; {q.Seeds} with --quick).", HelpName = "count" };
        var seed = new Option<int?>("--seed") { Description = $"Base seed; the same seed reproduces every number (default {d.Seed}).", HelpName = "seed" };
        var beta = new Option<double?>("--beta") { Description = $"Residual branch scale β in h + β·F(h) (default {d.Beta.ToString(CultureInfo.InvariantCulture)}).", HelpName = "scale" };
        var variants = StringListOption("--variants", $"Variants to run, comma-separated (default all: {string.Join(", ", d.Variants)}).");
        var threads = new Option<int?>("--threads") { Description = $"libtorch intra-op threads (default {d.Threads}).", HelpName = "count" };
        var quick = new Option<bool>("--quick") { Description = $"Few depths and seeds: runs in seconds (depths {Join(q.Depths)}, {q.Seeds} seeds)." };
        var output = OutputOption("vanishing");

        var command = new Command("vanishing", "Per-layer weight-gradient norms at initialisation: sigmoid vs ReLU, plain vs residual, across depths.")
        {
            depths, width, inputs, classes, batch, seeds, seed, beta, variants, threads, quick, output,
        };
        command.SetAction(parse =>
        {
            var baseline = parse.GetValue(quick) ? q : d;
            var options = baseline with
            {
                Depths = Given(parse, depths) ?? baseline.Depths,
                Width = parse.GetValue(width) ?? baseline.Width,
                Inputs = parse.GetValue(inputs) ?? baseline.Inputs,
                Classes = parse.GetValue(classes) ?? baseline.Classes,
                Batch = parse.GetValue(batch) ?? baseline.Batch,
                Seeds = parse.GetValue(seeds) ?? baseline.Seeds,
                Seed = parse.GetValue(seed) ?? baseline.Seed,
                Beta = parse.GetValue(beta) ?? baseline.Beta,
                Variants = Given(parse, variants) ?? baseline.Variants,
                Threads = parse.GetValue(threads) ?? baseline.Threads,
            };
            return Execute(parse, "vanishing", parse.GetValue(output), options.Validate, (directory, log) =>
            {
                var results = VanishingExperiment.Run(options, log);
                VanishingReport.Write(results, directory);
                log.WriteLine();
                foreach (var v in results.Verdicts) log.WriteLine($"[{(v.Agrees ? "agrees" : "DIFFERS")}] {v.Variant.Name}: expected {v.Variant.Expected}; {v.Evidence}");
            });
        });
        return command;
    }

    private static Command CreateDepth()
    {
        var d = DepthOptions.Default;
        var q = DepthOptions.Quick;
        var depths = IntListOption("--depths", $"Depths 6n+2, comma-separated; every family is trained at each (default {Join(d.Depths)}; {Join(q.Depths)} with --quick).");
        var families = StringListOption("--families", $"Families to train, comma-separated: plain (no shortcuts) and/or resnet (default {string.Join(",", d.Families)}).");
        var norm = new Option<string?>("--norm") { Description = "Normalization in every block: batch (He et al.), group or none (default batch).", HelpName = "kind" };
        var epochs = new Option<int?>("--epochs") { Description = $"Passes over the training set, the same for every model (default {d.Epochs}; {q.Epochs} with --quick).", HelpName = "count" };
        var batch = new Option<int?>("--batch-size") { Description = $"Global minibatch, split across the workers (default {d.BatchSize}; {q.BatchSize} with --quick).", HelpName = "count" };
        var lr = new Option<double?>("--lr") { Description = $"Peak learning rate for a global batch of 128, scaled linearly with --batch-size (default {Invariant(d.LearningRate)}).", HelpName = "rate" };
        var schedule = new Option<string?>("--schedule") { Description = "After warmup: linear (to zero), cosine or constant (default linear).", HelpName = "kind" };
        var warmup = new Option<double?>("--warmup-epochs") { Description = $"Linear warmup length in epochs (default {Invariant(d.WarmupEpochs)}).", HelpName = "epochs" };
        var noAugment = new Option<bool>("--no-augment") { Description = "Disable random crop (padding 2) and horizontal flip." };
        var dataset = new Option<string?>("--dataset") { Description = "fashion-mnist, cifar10 or synthetic (default fashion-mnist).", HelpName = "name" };
        var data = new Option<string?>("--data") { Description = "Dataset directory (default for fashion-mnist: /usr/share/datasets/fashion-mnist).", HelpName = "directory" };
        var trainLimit = new Option<int?>("--train-limit") { Description = $"Use only the first N training images, 0 for all (default {d.TrainLimit}; {q.TrainLimit} with --quick).", HelpName = "count" };
        var testLimit = new Option<int?>("--test-limit") { Description = $"Use only the first N test images, 0 for all (default {d.TestLimit}; {q.TestLimit} with --quick).", HelpName = "count" };
        var probe = new Option<int?>("--probe-batch") { Description = $"Training images in the fixed batch for the per-layer gradient norms (default {d.ProbeBatch}; {q.ProbeBatch} with --quick).", HelpName = "count" };
        var workers = new Option<int?>("--workers") { Description = "In-process workers of the distributed trainer (default: one per core).", HelpName = "count" };
        var threads = new Option<int?>("--threads-per-worker") { Description = "libtorch threads per worker (default: cores / workers, at least 1).", HelpName = "count" };
        var seed = new Option<int?>("--seed") { Description = $"Seed of the weights, data order and augmentation, shared by every model (default {d.Seed}).", HelpName = "seed" };
        var timeout = new Option<double?>("--shard-timeout") { Description = $"Seconds a worker may take for a shard before it goes to another (default {Invariant(d.ShardTimeoutSeconds)}).", HelpName = "seconds" };
        var quick = new Option<bool>("--quick") { Description = $"A minute or two on 2 cores: depths {Join(q.Depths)}, {q.TrainLimit} training and {q.TestLimit} test images, {q.Epochs} epochs at batch {q.BatchSize}." };
        var output = OutputOption("depth");

        var command = new Command("depth", "He et al. 2016 degradation: train plain and residual nets of two depths with the same budget through the distributed trainer; training loss, test accuracy and per-layer gradient norms.")
        {
            depths, families, norm, epochs, batch, lr, schedule, warmup, noAugment, dataset, data, trainLimit, testLimit, probe,
            workers, threads, seed, timeout, quick, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var baseline = parse.GetValue(quick) ? q : d;
            DepthOptions? options = null;
            return await ExecuteAsync(parse, "depth", parse.GetValue(output), () =>
            {
                options = baseline with
                {
                    Depths = Given(parse, depths) ?? baseline.Depths,
                    Families = (Given(parse, families) ?? baseline.Families).Select(f => f.ToLowerInvariant()).ToArray(),
                    Norm = parse.GetValue(norm) is { } n ? ParseEnum<NormKind>("--norm", n, "batch, group, none") : baseline.Norm,
                    Epochs = parse.GetValue(epochs) ?? baseline.Epochs,
                    BatchSize = parse.GetValue(batch) ?? baseline.BatchSize,
                    LearningRate = parse.GetValue(lr) ?? baseline.LearningRate,
                    Schedule = parse.GetValue(schedule) is { } s ? ParseEnum<ScheduleKind>("--schedule", s, "linear, cosine, constant") : baseline.Schedule,
                    WarmupEpochs = parse.GetValue(warmup) ?? baseline.WarmupEpochs,
                    Augment = baseline.Augment && !parse.GetValue(noAugment),
                    Dataset = parse.GetValue(dataset)?.ToLowerInvariant() ?? baseline.Dataset,
                    DataPath = parse.GetValue(data) ?? baseline.DataPath,
                    TrainLimit = parse.GetValue(trainLimit) ?? baseline.TrainLimit,
                    TestLimit = parse.GetValue(testLimit) ?? baseline.TestLimit,
                    ProbeBatch = parse.GetValue(probe) ?? baseline.ProbeBatch,
                    Workers = parse.GetValue(workers) ?? baseline.Workers,
                    ThreadsPerWorker = parse.GetValue(threads) ?? baseline.ThreadsPerWorker,
                    Seed = parse.GetValue(seed) ?? baseline.Seed,
                    ShardTimeoutSeconds = parse.GetValue(timeout) ?? baseline.ShardTimeoutSeconds,
                };
                options.Validate();
            }, async (directory, log) =>
            {
                var results = await DepthExperiment.RunAsync(options!, log, cancellationToken);
                DepthReport.Write(results, directory);
                log.WriteLine();
                foreach (var claim in results.Claims) log.WriteLine($"[{(claim.Holds ? "holds" : "FAILS")}] {claim.Statement}: {claim.Evidence}");
            });
        });
        return command;
    }

    /// <summary>
    /// Validates before any tensor exists, runs, and ends with the output directory so that scripts can take the
    /// last line. Invalid options are a usage error (exit 2), not a crash.
    /// </summary>
    private static int Execute(ParseResult parse, string name, string? output, Action validate, Action<string, TextWriter> run) =>
        ExecuteAsync(parse, name, output, validate, (directory, log) =>
        {
            run(directory, log);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

    private static async Task<int> ExecuteAsync(ParseResult parse, string name, string? output, Action validate, Func<string, TextWriter, Task> run)
    {
        var log = parse.InvocationConfiguration.Output;
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            parse.InvocationConfiguration.Error.WriteLine(e.Message);
            return 2;
        }
        var directory = Path.GetFullPath(output ?? Path.Combine("runs", "experiments", $"{name}-{DateTime.Now:yyyyMMdd-HHmmss}"));
        await run(directory, log);
        log.WriteLine($"Output: {directory}");
        return 0;
    }

    private static T ParseEnum<T>(string option, string value, string known) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(value, out _)
            ? parsed
            : throw new ArgumentException($"{option} '{value}' is not one of: {known}.");

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A list option's value, or null when it was not on the command line: with a custom parser, System.CommandLine
    /// hands an absent option's empty token list to the parser instead of returning null.
    /// </summary>
    private static T[]? Given<T>(ParseResult parse, Option<T[]?> option) =>
        parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option) : null;

    private static Option<string?> OutputOption(string name) => new("--output", "-o")
    {
        Description = $"Directory for the CSV, markdown and PNG files (default runs/experiments/{name}-<timestamp>).",
        HelpName = "directory",
    };

    /// <summary>Accepts "1,2,4", "1 2 4" and repeated options alike.</summary>
    private static Option<int[]?> IntListOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "list",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result =>
        {
            var values = new List<int>();
            foreach (var part in Split(result))
            {
                if (int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)) values.Add(value);
                else result.AddError($"'{part}' is not an integer.");
            }
            return values.ToArray();
        },
    };

    private static Option<string[]?> StringListOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "list",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result => Split(result).ToArray(),
    };

    private static IEnumerable<string> Split(ArgumentResult result) =>
        result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string Join(IEnumerable<int> values) => string.Join(",", values);
}
