using System.Globalization;
using System.Text;
using ScottPlot;
using static Distributed.Experiments.ReportWriting;

namespace Distributed.Experiments;

/// <summary>Writes the degradation results: CSVs, a markdown report and ScottPlot figures.</summary>
public static class DepthReport
{
    public const string EpochsCsv = "depth-epochs.csv";
    public const string StepsCsv = "depth-steps.csv";
    public const string GradientsCsv = "depth-gradients.csv";
    public const string Markdown = "depth.md";
    public const string TrainingLossPng = "training-loss.png";
    public const string TestAccuracyPng = "test-accuracy.png";
    public const string InitialGradientsPng = "gradient-norms-init.png";
    public const string FinalGradientsPng = "gradient-norms-final.png";

    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> Write(DepthResults results, string directory)
    {
        var files = new ReportFiles(directory);

        WriteCsv(files.PathOf(EpochsCsv),
            ["model", "family", "depth", "parameters", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"],
            results.Runs.SelectMany(r => r.Epochs.Select(e => (IEnumerable<string>)
            [
                r.Name, r.Family, Int(r.Model.Depth), Int(r.ParameterCount), Int(e.Epoch), Number(e.TrainLoss), Number(e.TrainAccuracy),
                Number(e.TestLoss), Number(e.TestAccuracy), Number(e.Seconds),
            ])));
        WriteCsv(files.PathOf(StepsCsv), ["model", "step", "epoch", "loss", "accuracy", "learning_rate"],
            results.Runs.SelectMany(r => r.Steps.Select(s => (IEnumerable<string>)
                [r.Name, s.Step.ToString(CultureInfo.InvariantCulture), Int(s.Epoch), Number(s.Loss), Number(s.Accuracy), Number(s.LearningRate)])));
        WriteCsv(files.PathOf(GradientsCsv), ["model", "family", "depth", "epoch", "probe_loss", "layer", "parameter", "weight_gradient_norm"],
            results.Runs.SelectMany(r => r.Gradients.SelectMany(g => g.Norms.Select((n, i) => (IEnumerable<string>)
                [r.Name, r.Family, Int(r.Model.Depth), Int(g.Epoch), Number(g.ProbeLoss), Int(i + 1), n.Name, Number(n.Norm)]))));
        File.WriteAllText(files.PathOf(Markdown), BuildMarkdown(results));
        PlotTrainingLoss(results, files.PathOf(TrainingLossPng));
        PlotTestAccuracy(results, files.PathOf(TestAccuracyPng));
        PlotGradients(results, 0, "at initialisation", files.PathOf(InitialGradientsPng));
        PlotGradients(results, results.Options.Epochs, $"after epoch {results.Options.Epochs}", files.PathOf(FinalGradientsPng));
        return files.Written;
    }

    public static string BuildMarkdown(DepthResults results)
    {
        var o = results.Options;
        var runs = results.Runs;
        var md = new StringBuilder();
        md.AppendLine("# Degradation: plain and residual nets of growing depth");
        md.AppendLine();
        var data = o.TrainLimit > 0 ? $"the first {o.TrainLimit:N0} training images" : "the full training set";
        var test = o.TestLimit > 0 ? $"the first {o.TestLimit:N0} test images" : "the full test set";
        md.AppendLine($"He et al. (2016), §4.2 and Figure 6, on {o.Dataset}: {string.Join(", ", runs.Select(r => r.Name))}, each trained through the " +
                      $"distributed trainer ({results.Workers}, coordinator and parameter server) " +
                      $"with the same budget: {data}, {o.Epochs} epochs at global batch {o.BatchSize}, SGD (Nesterov momentum 0.9, weight decay 5e-4), " +
                      $"peak learning rate {Fixed(o.LearningRate * o.BatchSize / 128, 4)} with {Fixed(o.WarmupEpochs, 1)} warmup epoch(s) and " +
                      $"{o.Schedule.ToString().ToLowerInvariant()} decay, {(o.Augment ? "random crop (padding 2) and flip" : "no augmentation")}, " +
                      $"{o.Norm.ToString().ToLowerInvariant()} norm, seed {o.Seed}; test accuracy on {test}. Plain nets are the resnets without their " +
                      "identity shortcuts (same parameters, same initial weights).");
        md.AppendLine();
        md.AppendLine("## Expectations");
        md.AppendLine();
        if (results.Claims.Count == 0) md.AppendLine("(Two depths are needed to compare.)");
        if (results.Claims.Count > 0) AppendVerdicts(md, results.Claims);
        md.AppendLine();
        md.AppendLine($"## After {o.Epochs} epoch(s)");
        md.AppendLine();
        md.AppendLine("| model | parameters | training loss | training accuracy | test loss | test accuracy | time (s) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in runs)
        {
            md.AppendLine($"| {r.Name} | {r.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} | {Fixed(r.Final.TrainLoss, 4)} | {Percent(r.Final.TrainAccuracy)} | " +
                          $"{Fixed(r.Final.TestLoss, 4)} | {Percent(r.Final.TestAccuracy)} | {Fixed(r.Seconds, 0)} |");
        }
        md.AppendLine();
        md.AppendLine("Training loss and accuracy are the means over each epoch's steps (augmented images, weights changing during " +
                      "the epoch), as in He et al.'s training curves; test figures use the weights at the end of the epoch.");
        md.AppendLine();
        md.AppendLine("## Per epoch");
        md.AppendLine();
        md.AppendLine($"| epoch | {string.Join(" | ", runs.Select(r => $"{r.Name} train loss"))} | {string.Join(" | ", runs.Select(r => $"{r.Name} test acc"))} |");
        md.AppendLine($"|---|{string.Concat(runs.Select(_ => "---|"))}{string.Concat(runs.Select(_ => "---|"))}");
        for (var e = 1; e <= o.Epochs; e++)
        {
            var epoch = e;
            var losses = runs.Select(r => r.Epochs.FirstOrDefault(x => x.Epoch == epoch) is { } x ? Fixed(x.TrainLoss, 4) : "–");
            var accuracies = runs.Select(r => r.Epochs.FirstOrDefault(x => x.Epoch == epoch) is { } x ? Percent(x.TestAccuracy) : "–");
            md.AppendLine($"| {e} | {string.Join(" | ", losses)} | {string.Join(" | ", accuracies)} |");
        }
        md.AppendLine();
        md.AppendLine("## Per-layer gradient norms");
        md.AppendLine();
        md.AppendLine($"‖∂L/∂W‖ of every convolution and the classifier on a fixed batch of the first {o.ProbeBatch} training images (unaugmented, " +
                      "training mode, mean cross-entropy), at initialisation (epoch 0) and with the weights at the end of each epoch. " +
                      "Layer 1 is the stem convolution, the last layer the classifier. The spread is the largest over the smallest convolution norm.");
        md.AppendLine();
        md.AppendLine("| model | epoch | probe loss | stem conv | median conv | last conv | classifier | spread over convs | stem / last conv |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs)
        {
            foreach (var g in r.Gradients)
            {
                var convs = g.Norms.Take(g.Norms.Count - 1).Select(n => n.Norm).ToList();
                var sorted = convs.Order().ToList();
                var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
                md.AppendLine($"| {r.Name} | {g.Epoch} | {Fixed(g.ProbeLoss, 4)} | {Scientific(convs[0])} | {Scientific(median)} | {Scientific(convs[^1])} | " +
                              $"{Scientific(g.Norms[^1].Norm)} | {Fixed(sorted[^1] / sorted[0], 1)} | {Fixed(convs[0] / convs[^1], 2)} |");
            }
        }
        md.AppendLine();
        var ratios = runs.Select(r => Invariant($"{r.Name} {StemToLastConv(r.Gradients[0]):0.00}"));
        md.AppendLine($"At initialisation the stem / last-conv ratio is {string.Join(", ", ratios)}. A vanishing gradient would put a deep " +
                      "net's ratio orders of magnitude below 1; He et al. argue that batch norm prevents that, so that vanishing gradients " +
                      "do not explain the degradation. A ratio well above 1 means the gradient grows toward the input, which batch norm " +
                      "causes in deep plain nets at initialisation (Yang et al. 2019, a mean-field theory of batch normalization).");
        md.AppendLine();
        md.AppendLine($"Deterministic for a seed and a worker count (with batch norm, each worker's shard is normalised with its own statistics). " +
                      $"Files: `{EpochsCsv}`, `{StepsCsv}`, `{GradientsCsv}`, `{TrainingLossPng}`, `{TestAccuracyPng}`, `{InitialGradientsPng}`, `{FinalGradientsPng}`.");
        return md.ToString();
    }

    private static void PlotTrainingLoss(DepthResults results, string path)
    {
        var plot = new Plot();
        foreach (var run in results.Runs)
        {
            // Per-step losses are noisy; a trailing mean over a fifth of an epoch shows the trend without hiding the early drop.
            var window = Math.Max(1, run.StepsPerEpoch / 5);
            var losses = run.Steps.Select(s => s.Loss).ToArray();
            var smoothed = losses.Select((_, k) => losses.Skip(Math.Max(0, k - window + 1)).Take(Math.Min(window, k + 1)).Average()).ToArray();
            var xs = run.Steps.Select(s => (s.Step + 1) / (double)Math.Max(1, run.StepsPerEpoch)).ToArray();
            var line = plot.Add.Scatter(xs, smoothed, ColorOf(results, run));
            Style(line, run);
            line.MarkerSize = 0;
            line.LegendText = $"{run.Name} (steps)";
            var epochs = plot.Add.Scatter(run.Epochs.Select(e => (double)e.Epoch).ToArray(), run.Epochs.Select(e => e.TrainLoss).ToArray(), ColorOf(results, run));
            epochs.LineWidth = 0;
            epochs.MarkerSize = 9;
            epochs.LegendText = $"{run.Name} (epoch mean)";
        }
        plot.Title("Training loss (thin: per-step, trailing mean over 1/5 epoch; dots: epoch mean)");
        plot.XLabel("epoch");
        plot.YLabel("cross-entropy");
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, 1100, 600);
    }

    private static void PlotTestAccuracy(DepthResults results, string path)
    {
        var plot = new Plot();
        foreach (var run in results.Runs)
        {
            var line = plot.Add.Scatter(run.Epochs.Select(e => (double)e.Epoch).ToArray(), run.Epochs.Select(e => e.TestAccuracy * 100).ToArray(), ColorOf(results, run));
            Style(line, run);
            line.MarkerSize = 8;
            line.LegendText = run.Name;
        }
        plot.Title("Test accuracy after each epoch");
        plot.XLabel("epoch");
        plot.YLabel("test accuracy (%)");
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, 1100, 600);
    }

    private static void PlotGradients(DepthResults results, int epoch, string when, string path)
    {
        var plot = new Plot();
        foreach (var run in results.Runs)
        {
            if (run.Gradients.FirstOrDefault(g => g.Epoch == epoch) is not { } snapshot) continue;
            var layers = Enumerable.Range(1, snapshot.Norms.Count).Select(l => (double)l).ToArray();
            var line = plot.Add.Scatter(layers, Log10Clipped(snapshot.Norms.Select(n => n.Norm), 1e-30), ColorOf(results, run));
            Style(line, run);
            line.MarkerSize = 4;
            line.LegendText = run.Name;
        }
        UseLogScaleY(plot);
        plot.Title($"Per-layer weight-gradient norm {when} (fixed probe batch; last layer = classifier)");
        plot.XLabel("layer (1 = stem convolution)");
        plot.YLabel("‖∂L/∂W‖ (log scale)");
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, 1100, 600);
    }

    /// <summary>One colour per model; plain nets are also dashed, so the families stay apart in grey print.</summary>
    private static Color ColorOf(DepthResults results, DepthRun run) => PaletteColor(results.Runs.ToList().IndexOf(run));

    private static void Style(ScottPlot.Plottables.Scatter line, DepthRun run)
    {
        line.LineWidth = 2;
        line.LinePattern = run.Family == DepthOptions.PlainFamily ? LinePattern.Dashed : LinePattern.Solid;
    }

    /// <summary>‖∂L/∂W‖ of the stem convolution over that of the last convolution (the layer before the classifier).</summary>
    public static double StemToLastConv(GradientSnapshot snapshot) => snapshot.Norms[0].Norm / snapshot.Norms[^2].Norm;

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Percent(double value) =>
        double.IsNaN(value) ? "–" : (value * 100).ToString("F2", CultureInfo.InvariantCulture) + " %";
}
