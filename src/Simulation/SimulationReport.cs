using System.Globalization;
using System.Text;
using ScottPlot;

namespace Distributed.Simulation;

/// <summary>What a simulation prints and writes: the per-step table, a CSV and a PNG; for a sweep over N and K, one row and one point per cluster.</summary>
public static class SimulationReport
{
    public const string StepsCsv = "simulation-steps.csv";
    public const string StepsPng = "simulation-steps.png";
    public const string SweepCsv = "simulation-sweep.csv";
    public const string SweepPng = "simulation-sweep.png";
    public const string RemediesCsv = "simulation-remedies.csv";
    public const string RemediesPng = "simulation-remedies.png";

    public static string Header(SimulationResult run) =>
        string.Create(CultureInfo.InvariantCulture, $"N={run.Options.Workers} workers, K={run.Options.Servers} servers ({PathName(run.Plan.Path)}), model {Megabytes(run.Plan.ModelBytes)} MB, " +
            $"batch {run.Options.GlobalBatch}, {run.Options.ComputeMillisecondsPerSample} ms/sample, {run.Options.BandwidthGbps} Gbit/s, {run.Options.LatencyMicroseconds} µs; " +
            $"{Stragglers(run.Options)}; {run.Steps.Count} steps simulated in {run.WallSeconds:F1} s");

    /// <summary>The speed model and the remedies, as the flags that set them.</summary>
    public static string Stragglers(SimulationOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"speeds: spread {o.SpeedSpread}, jitter {o.JitterSigma}, slowdowns {(o.SlowdownProbability > 0 ? $"{o.SlowdownFactor}@{o.SlowdownProbability}" : "none")}; " +
        $"{(o.Speculate ? "speculation" : "no speculation")}, {o.BackupWorkers} backup workers, staleness {o.Staleness}");

    /// <summary>Steady-state step time (median, mean, p99), applied images per second, and what the remedies did.</summary>
    public static string Summary(SimulationResult run) => string.Create(CultureInfo.InvariantCulture,
        $"steady steps ({run.Steady.Count()}): median {run.SteadyStepPercentile(50):F1} ms, mean {run.SteadyStepMilliseconds:F1} ms, p99 {run.SteadyStepPercentile(99):F1} ms; " +
        $"{run.SteadyImagesPerSecond:F0} img/s applied; {run.SpeculativeCopies} speculative copies ({run.SpeculativeWins} won); {run.AbandonedShards} shards abandoned, " +
        $"{run.LedgerSkippedSamples} samples skipped; {run.SkippedRequests} stale requests skipped by workers; {run.Slowdowns} shards slowed; " +
        $"max staleness {run.Steps.Max(s => s.MaxStaleness)}");

    /// <summary>One line per step: step time, bytes per node (both ways) and the busiest link.</summary>
    public static string StepTable(SimulationResult run)
    {
        var text = new StringBuilder();
        text.AppendLine(Header(run));
        text.AppendLine($"{"step",5} {"step ms",10} {"coord MB",10} {"server MB",10} {"worker MB",10}  {"busiest link",-14} {"MB one way",10} {"busy",6}");
        foreach (var s in run.Steps)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{s.Step,5} {s.StepMilliseconds,10:F2} {Megabytes(s.CoordinatorBytes),10} {Megabytes(s.MaxServerBytes),10} " +
                $"{Megabytes(s.MeanWorkerBytes),10}  {s.BusiestLink,-14} {Megabytes(s.BusiestLinkBytes),10} {s.BusiestLinkUtilization,6:P0}"));
        }
        if (run.ReassignedShards > 0) text.AppendLine($"{run.ReassignedShards} shards were reassigned after missing their deadline");
        return text.ToString();
    }

    /// <summary>One line per simulated cluster, steady-state means (step 0 left out).</summary>
    public static string SweepTable(IReadOnlyList<SimulationResult> runs)
    {
        var text = new StringBuilder();
        text.AppendLine($"{"N",5} {"K",3} {"path",-11} {"step ms",10} {"p50 ms",8} {"p99 ms",8} {"img/s",8} {"coord MB",10} {"server MB",10} {"worker MB",10}  {"busiest link",-14} {"busy",6} {"wall s",7}");
        foreach (var run in runs)
        {
            var steady = run.Steady.ToList();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{run.Options.Workers,5} {run.Options.Servers,3} {PathName(run.Plan.Path),-11} {run.SteadyStepMilliseconds,10:F2} " +
                $"{run.SteadyStepPercentile(50),8:F1} {run.SteadyStepPercentile(99),8:F1} {run.SteadyImagesPerSecond,8:F0} " +
                $"{Megabytes(steady.Average(s => s.CoordinatorBytes)),10} {Megabytes(steady.Average(s => s.MaxServerBytes)),10} {Megabytes(steady.Average(s => s.MeanWorkerBytes)),10}  " +
                $"{steady[^1].BusiestLink,-14} {steady.Average(s => s.BusiestLinkUtilization),6:P0} {run.WallSeconds,7:F1}"));
        }
        return text.ToString();
    }

    public static void WriteSteps(SimulationResult run, string directory)
    {
        Directory.CreateDirectory(directory);
        var csv = new StringBuilder("step,step_ms,coordinator_bytes,max_server_bytes,mean_worker_bytes,busiest_link,busiest_link_bytes_one_way,busiest_link_utilization,samples,skipped_samples\n");
        foreach (var s in run.Steps)
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Step},{s.StepMilliseconds:R},{s.CoordinatorBytes},{s.MaxServerBytes},{s.MeanWorkerBytes:R},{s.BusiestLink},{s.BusiestLinkBytes},{s.BusiestLinkUtilization:R},{s.Samples},{s.SkippedSamples}"));
        File.WriteAllText(Path.Combine(directory, StepsCsv), csv.ToString());

        var plot = new Plot();
        var steps = run.Steps.Select(s => (double)s.Step).ToArray();
        var time = plot.Add.Scatter(steps, run.Steps.Select(s => s.StepMilliseconds).ToArray());
        time.LegendText = "step time (ms, left)";
        var busiest = plot.Add.Scatter(steps, run.Steps.Select(s => s.BusiestLinkBytes / 1e6).ToArray());
        busiest.LegendText = "busiest link, MB one way (right)";
        busiest.Axes.YAxis = plot.Axes.Right;
        plot.Title(Header(run));
        plot.XLabel("step");
        plot.YLabel("step time (ms)");
        plot.Axes.Right.Label.Text = "MB per step";
        plot.ShowLegend(Edge.Bottom);
        plot.SavePng(Path.Combine(directory, StepsPng), 1100, 600);
    }

    /// <summary>The sweep as CSV and a two-panel PNG: busiest node's MB per step and step time against N, one line per K.</summary>
    public static void WriteSweep(IReadOnlyList<SimulationResult> runs, string directory)
    {
        Directory.CreateDirectory(directory);
        var csv = new StringBuilder("workers,servers,path,steady_step_ms,coordinator_bytes,max_server_bytes,mean_worker_bytes,busiest_link,busiest_link_utilization,predicted_coordinator_bytes,predicted_max_server_bytes," +
            "p50_step_ms,p99_step_ms,images_per_second,speculative_copies,speculative_wins,abandoned_shards,skipped_samples\n");
        foreach (var run in runs)
        {
            var steady = run.Steady.ToList();
            var predicted = run.Plan.BytesPerStep();
            var predictedServer = run.Plan.Path == TransferPath.Direct ? Enumerable.Range(0, run.Plan.Servers).Max(s => predicted[run.Plan.ServerNode(s)]) : predicted[TrafficPlan.CoordinatorNode];
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Options.Workers},{run.Options.Servers},{PathName(run.Plan.Path)},{run.SteadyStepMilliseconds:R},{steady.Average(s => s.CoordinatorBytes):R},{steady.Average(s => s.MaxServerBytes):R}," +
                $"{steady.Average(s => s.MeanWorkerBytes):R},{steady[^1].BusiestLink},{steady.Average(s => s.BusiestLinkUtilization):R},{predicted[TrafficPlan.CoordinatorNode]},{predictedServer}," +
                $"{run.SteadyStepPercentile(50):R},{run.SteadyStepPercentile(99):R},{run.SteadyImagesPerSecond:R},{run.SpeculativeCopies},{run.SpeculativeWins},{run.AbandonedShards},{run.LedgerSkippedSamples}"));
        }
        File.WriteAllText(Path.Combine(directory, SweepCsv), csv.ToString());

        var bytesPlot = new Plot();
        var timePlot = new Plot();
        var series = runs.GroupBy(r => (r.Plan.Path, r.Options.Servers)).OrderBy(g => g.Key.Path).ThenBy(g => g.Key.Servers).ToList();
        for (var i = 0; i < series.Count; i++)
        {
            var points = series[i].OrderBy(r => r.Options.Workers).ToList();
            var xs = points.Select(r => Math.Log2(r.Options.Workers)).ToArray();
            var label = $"K={series[i].Key.Servers} ({PathName(series[i].Key.Path)})";
            var color = new ScottPlot.Palettes.Category10().GetColor(i);
            var bytes = bytesPlot.Add.Scatter(xs, points.Select(r => Math.Log10(r.Steady.Average(s => (double)Math.Max(s.CoordinatorBytes, s.MaxServerBytes)) / 1e6)).ToArray(), color);
            bytes.LegendText = label;
            var time = timePlot.Add.Scatter(xs, points.Select(r => Math.Log10(r.SteadyStepMilliseconds)).ToArray(), color);
            time.LegendText = label;
        }
        foreach (var plot in new[] { bytesPlot, timePlot })
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            { IntegerTicksOnly = true, LabelFormatter = x => Math.Pow(2, x).ToString("0", CultureInfo.InvariantCulture) };
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            { IntegerTicksOnly = true, LabelFormatter = y => Math.Pow(10, y).ToString("0.###", CultureInfo.InvariantCulture) };
            plot.XLabel("workers N (log scale)");
            plot.ShowLegend(Edge.Right);
        }
        var model = Megabytes(runs[0].Plan.ModelBytes);
        bytesPlot.Title($"Busiest coordinator/server node, MB per step (both ways), model {model} MB");
        bytesPlot.YLabel("MB per step (log scale)");
        timePlot.Title($"Simulated step time, {runs[0].Options.BandwidthGbps} Gbit/s links, {runs[0].Options.ComputeMillisecondsPerSample} ms/sample");
        timePlot.YLabel("ms (log scale)");
        // A new Multiplot already holds the plot it is given; the second is stacked below it.
        var multiplot = new Multiplot(bytesPlot);
        multiplot.AddPlot(timePlot);
        multiplot.SavePng(Path.Combine(directory, SweepPng), 1100, 1000);
    }

    /// <summary>One line per cluster and remedy: steady step time (median, mean, p99), applied img/s, MB per step, and what the remedy did.</summary>
    public static string RemedyTable(IReadOnlyList<SimulationResult> runs)
    {
        var text = new StringBuilder();
        text.AppendLine($"{"N",5} {"K",3} {"remedy",-10} {"p50 ms",8} {"mean ms",8} {"p99 ms",8} {"img/s",8} {"coord MB",9} {"server MB",9} {"worker MB",9} {"copies",7} {"won",5} {"abandoned",9} {"skipped/step",12}");
        foreach (var run in runs)
        {
            var steady = run.Steady.ToList();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Options.Workers,5} {run.Options.Servers,3} {run.Options.Remedy,-10} {run.SteadyStepPercentile(50),8:F1} {run.SteadyStepMilliseconds,8:F1} {run.SteadyStepPercentile(99),8:F1} " +
                $"{run.SteadyImagesPerSecond,8:F0} {Megabytes(steady.Average(s => s.CoordinatorBytes)),9} {Megabytes(steady.Average(s => s.MaxServerBytes)),9} {Megabytes(steady.Average(s => s.MeanWorkerBytes)),9} " +
                $"{run.SpeculativeCopies,7} {run.SpeculativeWins,5} {run.AbandonedShards,9} {steady.Average(s => s.SkippedSamples),12:F0}"));
        }
        return text.ToString();
    }

    /// <summary>The remedies as CSV (one row per cluster and remedy) and a PNG: step time per step, one panel per cluster, one line per remedy.</summary>
    public static void WriteRemedies(IReadOnlyList<SimulationResult> runs, string directory)
    {
        Directory.CreateDirectory(directory);
        var csv = new StringBuilder("workers,servers,path,remedy,speculate,backup_workers,p50_step_ms,mean_step_ms,p99_step_ms,images_per_second," +
            "coordinator_bytes,max_server_bytes,mean_worker_bytes,speculative_copies,speculative_wins,abandoned_shards,skipped_samples,slowed_shards\n");
        foreach (var run in runs)
        {
            var steady = run.Steady.ToList();
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Options.Workers},{run.Options.Servers},{PathName(run.Plan.Path)},{run.Options.Remedy},{run.Options.Speculate},{run.Options.BackupWorkers}," +
                $"{run.SteadyStepPercentile(50):R},{run.SteadyStepMilliseconds:R},{run.SteadyStepPercentile(99):R},{run.SteadyImagesPerSecond:R}," +
                $"{steady.Average(s => s.CoordinatorBytes):R},{steady.Average(s => s.MaxServerBytes):R},{steady.Average(s => s.MeanWorkerBytes):R}," +
                $"{run.SpeculativeCopies},{run.SpeculativeWins},{run.AbandonedShards},{run.LedgerSkippedSamples},{run.Slowdowns}"));
        }
        File.WriteAllText(Path.Combine(directory, RemediesCsv), csv.ToString());

        var clusters = runs.GroupBy(r => (r.Options.Workers, r.Options.Servers, r.Plan.Path)).ToList();
        Multiplot? multiplot = null;
        foreach (var cluster in clusters)
        {
            var plot = new Plot();
            var remedies = cluster.ToList();
            for (var i = 0; i < remedies.Count; i++)
            {
                var steady = remedies[i].Steady.ToList();
                var line = plot.Add.Scatter(steady.Select(s => (double)s.Step).ToArray(), steady.Select(s => s.StepMilliseconds).ToArray(),
                    new ScottPlot.Palettes.Category10().GetColor(i));
                line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{remedies[i].Options.Remedy} (mean {remedies[i].SteadyStepMilliseconds:F0} ms)");
            }
            var first = remedies[0];
            plot.Title(string.Create(CultureInfo.InvariantCulture, $"N={cluster.Key.Workers}, K={cluster.Key.Servers} ({PathName(cluster.Key.Path)}), batch {first.Options.GlobalBatch}; {Stragglers(first.Options).Split(';')[0]}"));
            plot.XLabel("step");
            plot.YLabel("step time (ms)");
            plot.ShowLegend(Edge.Right);
            if (multiplot is null) multiplot = new Multiplot(plot);
            else multiplot.AddPlot(plot);
        }
        multiplot!.SavePng(Path.Combine(directory, RemediesPng), 1100, 380 * clusters.Count);
    }

    private static string PathName(TransferPath path) => path == TransferPath.Coordinator ? "coordinator" : "direct";

    private static string Megabytes(double bytes) => (bytes / 1e6).ToString(bytes >= 1e8 ? "F0" : "F3", CultureInfo.InvariantCulture);
}
