using System.CommandLine;
using System.Globalization;
using Distributed.Model.Nets;
using Distributed.Protocol;
using Distributed.Simulation;

namespace Distributed.Cli.Commands;

/// <summary>
/// `simulate`: the real coordinator and parameter server with N simulated workers and K servers on a simulated
/// clock; prints step time, bytes per node and the busiest link per step, and writes them as CSV and PNG. Lists
/// of N or K (`--workers 8,64,512`) run one simulation each and add a sweep table and plot.
/// </summary>
public static class SimulateCommand
{
    // The defaults are this machine's, for the default ResNet-20 (bench/README.md, 2026-11-23, load ≈ 1): one
    // libtorch thread trains 468–526 img/s at batch 64, about 2 ms a sample; the parameter server averages two
    // 1.1 MB shards and applies SGD in 0.7 ms, about 3 GB of gradient a second.
    private const double MeasuredComputeMillisecondsPerSample = 2.0;
    private const double MeasuredServerGigabytesPerSecond = 3.0;

    private static readonly Option<string> WorkersOption = new("--workers")
    { Description = $"Simulated workers N (1..{SimulationOptions.MaxWorkers}), or a comma-separated list to sweep.", DefaultValueFactory = _ => "8" };
    private static readonly Option<string> ShardsOption = new("--ps-shards")
    { Description = $"Parameter servers K (1..{SimulationOptions.MaxServers}), or a comma-separated list to sweep.", DefaultValueFactory = _ => "1" };
    private static readonly Option<string> PathOption = new("--path")
    {
        Description = "How weights and gradients travel: coordinator (today: through the coordinator's node, one server), direct (each worker " +
            "pushes and pulls a slice to and from each of K servers on their own nodes), or auto (coordinator for K=1, direct otherwise).",
        DefaultValueFactory = _ => "auto",
    };
    private static readonly Option<int> StepsOption = new("--steps")
    { Description = "Training steps to simulate.", DefaultValueFactory = _ => 5 };
    private static readonly Option<int> DepthOption = new("--depth")
    { Description = "Size the model as the ResNet of this depth (6n+2) on Fashion-MNIST, as `train --depth` builds it.", DefaultValueFactory = _ => 20 };
    private static readonly Option<int> WidthOption = new("--width")
    { Description = "Width multiplier of that ResNet.", DefaultValueFactory = _ => 1 };
    private static readonly Option<long?> ModelBytesOption = new("--model-bytes")
    { Description = "Size the model directly: bytes of flat state (a multiple of 4); overrides --depth and --width." };
    private static readonly Option<int> BatchOption = new("--global-batch")
    { Description = "Samples per step, split across the workers (at least N).", DefaultValueFactory = _ => 128 };
    private static readonly Option<double> ComputeOption = new("--compute-per-sample-ms")
    {
        Description = "A worker's forward and backward time per sample (default: ResNet-20 on one core of this machine; set it for other models or machines).",
        DefaultValueFactory = _ => MeasuredComputeMillisecondsPerSample,
    };
    private static readonly Option<double> BandwidthOption = new("--bandwidth-gbps")
    { Description = "Every node's link, each way, in Gbit/s (default 10: a common data-centre NIC; loopback here measures about 9 for one TCP stream).", DefaultValueFactory = _ => 10.0 };
    private static readonly Option<double> LatencyOption = new("--latency-us")
    { Description = "One-way latency of every link, in microseconds (default 50: a switched LAN with a kernel TCP stack; loopback here measures about 10).", DefaultValueFactory = _ => 50.0 };
    private static readonly Option<double> SpreadOption = new("--speed-spread")
    { Description = "Worker speed spread s: each worker's compute time is multiplied by a seeded draw from [1, 1+s].", DefaultValueFactory = _ => 0.0 };
    private static readonly Option<double> JitterOption = new("--jitter")
    {
        Description = $"Per-shard noise σ: each shard's compute time is also multiplied by a seeded lognormal draw exp(σ·Z), median 1 (0..{SimulationOptions.MaxJitterSigma}).",
        DefaultValueFactory = _ => 0.0,
    };
    private static readonly Option<string> SlowdownsOption = new("--slowdowns")
    { Description = "Transient slowdowns F@P: each shard is, with probability P (seeded), F times slower; e.g. 4@0.01. Default none." };
    private static readonly Option<bool> NoSpeculateOption = new("--no-speculate")
    { Description = "Turn off the coordinator's speculative copies of straggling shards (as train --no-speculate): a plain synchronous step." };
    private static readonly Option<int> BackupWorkersOption = new("--backup-workers")
    { Description = "Apply each step with the first N − b shards to arrive (as train --backup-workers; 0 ≤ b < N); the rest are abandoned.", DefaultValueFactory = _ => 0 };
    private static readonly Option<string> RemediesOption = new("--remedies")
    {
        Description = "Compare straggler remedies on each cluster, a comma-separated list of: sync (as --no-speculate), speculate (train's default), " +
            "backup=B (as --backup-workers B, speculation on as in train), stale=S (as --staleness S). Prints a table and writes simulation-remedies.csv and .png.",
    };
    private static readonly Option<int> StalenessOption = new("--staleness")
    {
        Description = "Bounded staleness s (as train --staleness): up to s + 1 steps open at once, gradients on weights up to s steps old; 0 is synchronous. " +
            "Speculation is off with it; not with --backup-workers.",
        DefaultValueFactory = _ => 0,
    };
    private static readonly Option<double> ServerOption = new("--server-gbytes-per-s")
    {
        Description = "How fast one server averages shard gradients and applies SGD, in GB of gradient read per second (default: this machine's parameter server).",
        DefaultValueFactory = _ => MeasuredServerGigabytesPerSecond,
    };
    private static readonly Option<double> ShardTimeoutOption = new("--shard-timeout")
    { Description = "Seconds of simulated time a worker may take for a shard before the coordinator reassigns it (as train).", DefaultValueFactory = _ => 30.0 };
    private static readonly Option<int> SeedOption = new("--seed")
    { Description = "Seed of the data order and the worker speeds.", DefaultValueFactory = _ => 1 };
    private static readonly Option<string> OutputOption = new("--output")
    { Description = "Directory for the CSV and PNG files (default runs/simulate-<timestamp>)." };

    public static Command Create()
    {
        var command = new Command("simulate", "Simulate N workers and K parameter servers on a simulated clock: the real coordinator and server, modeled compute and links.");
        foreach (var option in new Option[] { WorkersOption, ShardsOption, PathOption, StepsOption, DepthOption, WidthOption, ModelBytesOption, BatchOption, ComputeOption,
                     BandwidthOption, LatencyOption, SpreadOption, JitterOption, SlowdownsOption, NoSpeculateOption, BackupWorkersOption, StalenessOption, RemediesOption, ServerOption, ShardTimeoutOption, SeedOption, OutputOption })
            command.Add(option);
        command.SetAction(parse => Run(parse));
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var log = parse.InvocationConfiguration.Output;
        List<SimulationOptions> all;
        try
        {
            all = Bind(parse);
        }
        catch (ArgumentException e)
        {
            parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        var output = Path.GetFullPath(parse.GetValue(OutputOption) ?? Path.Combine("runs", $"simulate-{DateTime.Now:yyyyMMdd-HHmmss}"));
        var results = new List<SimulationResult>();
        foreach (var options in all)
        {
            var result = ClusterSimulation.Run(options);
            results.Add(result);
            log.WriteLine(all.Count == 1 ? SimulationReport.StepTable(result) : SimulationReport.Header(result));
            log.WriteLine(SimulationReport.Summary(result));
        }
        if (parse.GetValue(RemediesOption) is not null)
        {
            log.WriteLine();
            log.Write(SimulationReport.RemedyTable(results));
            SimulationReport.WriteRemedies(results, output);
            log.WriteLine($"Wrote {SimulationReport.RemediesCsv} and {SimulationReport.RemediesPng} to {output}");
            return 0;
        }
        if (results.Count == 1)
        {
            SimulationReport.WriteSteps(results[0], output);
            log.WriteLine($"Wrote {SimulationReport.StepsCsv} and {SimulationReport.StepsPng} to {output}");
            return 0;
        }
        log.WriteLine();
        log.Write(SimulationReport.SweepTable(results));
        SimulationReport.WriteSweep(results, output);
        log.WriteLine($"Wrote {SimulationReport.SweepCsv} and {SimulationReport.SweepPng} to {output}");
        return 0;
    }

    /// <summary>Every cluster to simulate (each K with each N), every one checked before the first runs so a sweep does not stop halfway on a bad value.</summary>
    private static List<SimulationOptions> Bind(ParseResult parse)
    {
        var workers = ParseList(parse.GetValue(WorkersOption)!, "--workers");
        var shards = ParseList(parse.GetValue(ShardsOption)!, "--ps-shards");
        var path = parse.GetValue(PathOption) switch
        {
            "auto" => (TransferPath?)null,
            "coordinator" => TransferPath.Coordinator,
            "direct" => TransferPath.Direct,
            var other => throw new ArgumentException($"--path '{other}' must be auto, coordinator or direct"),
        };
        var (slowdownFactor, slowdownProbability) = ParseSlowdowns(parse.GetValue(SlowdownsOption));
        var modelBytes = parse.GetValue(ModelBytesOption) ?? ModelBytesOf(parse.GetValue(DepthOption), parse.GetValue(WidthOption));
        var remedies = parse.GetValue(RemediesOption) is { } list
            ? ParseRemedies(list, parse.GetValue(NoSpeculateOption) || parse.GetValue(BackupWorkersOption) != 0 || parse.GetValue(StalenessOption) != 0)
            : [(Speculate: !parse.GetValue(NoSpeculateOption), BackupWorkers: parse.GetValue(BackupWorkersOption), Staleness: parse.GetValue(StalenessOption))];
        var all = (from k in shards
                   from n in workers
                   from remedy in remedies
                   select new SimulationOptions(n, k, parse.GetValue(StepsOption), modelBytes, parse.GetValue(BatchOption), parse.GetValue(ComputeOption),
                       parse.GetValue(BandwidthOption), parse.GetValue(LatencyOption), parse.GetValue(SpreadOption),
                       path ?? (k == 1 ? TransferPath.Coordinator : TransferPath.Direct), parse.GetValue(ServerOption), parse.GetValue(ShardTimeoutOption),
                       parse.GetValue(SeedOption))
                   {
                       JitterSigma = parse.GetValue(JitterOption),
                       SlowdownFactor = slowdownFactor,
                       SlowdownProbability = slowdownProbability,
                       Speculate = remedy.Speculate,
                       BackupWorkers = remedy.BackupWorkers,
                       Staleness = remedy.Staleness,
                   }).ToList();
        if (all.Select(o => o.Validate()).FirstOrDefault(p => p is not null) is { } problem) throw new ArgumentException(problem);
        return all;
    }

    /// <summary>The flat state of the ResNet that `train --depth D --width W` builds on Fashion-MNIST, in bytes.</summary>
    private static long ModelBytesOf(int depth, int width)
    {
        var spec = (ModelSpec.ResNet20FashionMnist with { Depth = depth, WidthMultiplier = width }).EnsureValid();
        return RunModel.Build(spec, seed: 1).StateLength * (long)sizeof(float);
    }

    /// <summary>"F@P" as (F, P); no value is no slowdowns (1, 0). The ranges are checked with the other options.</summary>
    private static (double Factor, double Probability) ParseSlowdowns(string? text)
    {
        if (text is null) return (1, 0);
        var parts = text.Split('@', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var factor)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var probability))
            throw new ArgumentException($"--slowdowns '{text}' must be F@P: a factor and a probability, e.g. 4@0.01 (each shard 4x slow with probability 1 %)");
        return (factor, probability);
    }

    /// <summary>The remedies of `--remedies`, each as the flags it stands for; B's range is checked with the other options.</summary>
    private static List<(bool Speculate, int BackupWorkers, int Staleness)> ParseRemedies(string text, bool remedyFlagsGiven)
    {
        if (remedyFlagsGiven) throw new ArgumentException("--remedies names the remedies of each run: give it without --no-speculate, --backup-workers and --staleness");
        var remedies = new List<(bool, int, int)>();
        foreach (var token in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            remedies.Add(token switch
            {
                "sync" => (false, 0, 0),
                "speculate" => (true, 0, 0),
                _ when token.StartsWith("backup=", StringComparison.Ordinal)
                       && int.TryParse(token["backup=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var b) => (true, b, 0),
                _ when token.StartsWith("stale=", StringComparison.Ordinal)
                       && int.TryParse(token["stale=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var stale) => (true, 0, stale),
                _ => throw new ArgumentException($"--remedies '{text}': '{token}' is not sync, speculate, backup=B or stale=S (B, S whole numbers)"),
            });
        }
        if (remedies.Count == 0) throw new ArgumentException($"--remedies '{text}' names no remedy");
        return remedies.Distinct().ToList();
    }

    private static int[] ParseList(string text, string flag)
    {
        var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (values.Length == 0) throw new ArgumentException($"{flag} '{text}' names no value");
        return values.Select(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new ArgumentException($"{flag} '{text}': '{v}' is not a whole number")).Distinct().ToArray();
    }
}
