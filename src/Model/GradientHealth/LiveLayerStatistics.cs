using Distributed.Model.Nets;

namespace Distributed.Model.GradientHealth;

/// <summary>A weight tensor's place in a flat parameter buffer: one "layer" for gradient health.</summary>
public sealed record LiveLayer(string Name, int Offset, int Length)
{
    /// <summary>The conv and linear weights of a layout, in forward order (norm scales and biases are not layers).</summary>
    public static IReadOnlyList<LiveLayer> WeightLayers(ParameterLayout layout) =>
        layout.Trainable.Where(s => s.Kind == SliceKind.Weight).Select(s => new LiveLayer(s.Name, s.Offset, s.Length)).ToList();
}

/// <summary>One layer at one step: gradient, weights and the update the optimizer applied.</summary>
public sealed record LiveLayerFigures(string Layer, double GradientNorm, double WeightNorm, double UpdateNorm)
{
    /// <summary>‖Δw‖ / ‖w‖: how far one step moves the layer relative to its size (healthy training: ~1e-3).</summary>
    public double UpdateRatio => WeightNorm > 0 ? UpdateNorm / WeightNorm : double.NaN;
}

/// <summary>Why a layer's gradient looks wrong.</summary>
public enum LiveGradientProblem { Vanishing, Exploding }

public sealed record LiveGradientWarning(string Layer, LiveGradientProblem Problem, string Detail);

/// <summary>
/// Limits that turn layer figures into warnings; the defaults flag only problems that stall or wreck training.
/// Explosions are judged by their effect (an update as large as the weights, or a non-finite gradient), not by
/// comparison with other layers: when gradients vanish, the top layers dwarf the median without exploding.
/// </summary>
/// <param name="VanishingRelative">A layer whose gradient is below this fraction of the median layer's has stopped learning
/// (and a first/last gradient ratio below it means the gradient vanishes on its way to the input).</param>
/// <param name="ExplodingRelative">A first/last gradient ratio above this means the gradient grows on its way to the input.</param>
/// <param name="ExplodingUpdateRatio">One step that changes a layer by more than this fraction of its weights is an explosion.</param>
public sealed record LiveHealthThresholds(double VanishingRelative = 1e-4, double ExplodingRelative = 1e4, double ExplodingUpdateRatio = 1.0)
{
    public static LiveHealthThresholds Default { get; } = new();
}

/// <summary>
/// Per-layer gradient health from flat buffers: gradient norms, update/weight ratios, the first-layer/last-layer
/// gradient ratio (≪ 1: gradients vanish on their way down; ≫ 1: they explode), and warnings.
/// </summary>
public sealed record LiveLayerStatistics(IReadOnlyList<LiveLayerFigures> Layers, double GlobalGradientNorm)
{
    /// <summary>‖∇W_first‖ / ‖∇W_last‖ over the weight layers in forward order; NaN with fewer than two layers.</summary>
    public double FirstToLastGradientRatio =>
        Layers.Count < 2 ? double.NaN : Layers[^1].GradientNorm > 0 ? Layers[0].GradientNorm / Layers[^1].GradientNorm : double.PositiveInfinity;

    public static LiveLayerStatistics Compute(IReadOnlyList<LiveLayer> layers, ReadOnlySpan<float> gradient,
        ReadOnlySpan<float> weightsBefore, ReadOnlySpan<float> weightsAfter)
    {
        var figures = new List<LiveLayerFigures>(layers.Count);
        foreach (var layer in layers)
        {
            if (layer.Offset < 0 || layer.Offset + layer.Length > gradient.Length || layer.Offset + layer.Length > weightsBefore.Length
                || layer.Offset + layer.Length > weightsAfter.Length)
                throw new ArgumentException($"layer {layer.Name} [{layer.Offset}, +{layer.Length}) lies outside the buffers");
            var g = gradient.Slice(layer.Offset, layer.Length);
            var before = weightsBefore.Slice(layer.Offset, layer.Length);
            var after = weightsAfter.Slice(layer.Offset, layer.Length);
            double gradientSquares = 0, weightSquares = 0, updateSquares = 0;
            for (var i = 0; i < g.Length; i++)
            {
                gradientSquares += (double)g[i] * g[i];
                weightSquares += (double)before[i] * before[i];
                var update = (double)after[i] - before[i];
                updateSquares += update * update;
            }
            figures.Add(new LiveLayerFigures(layer.Name, Math.Sqrt(gradientSquares), Math.Sqrt(weightSquares), Math.Sqrt(updateSquares)));
        }
        double total = 0;
        foreach (var value in gradient) total += (double)value * value;
        return new LiveLayerStatistics(figures, Math.Sqrt(total));
    }

    public IReadOnlyList<LiveGradientWarning> Warnings(LiveHealthThresholds? thresholds = null)
    {
        var limits = thresholds ?? LiveHealthThresholds.Default;
        var warnings = new List<LiveGradientWarning>();
        if (Layers.Count == 0) return warnings;
        var finite = Layers.Select(l => l.GradientNorm).Where(double.IsFinite).Order().ToList();
        var median = finite.Count == 0 ? double.NaN : finite[finite.Count / 2];
        foreach (var layer in Layers)
        {
            if (!double.IsFinite(layer.GradientNorm))
                warnings.Add(new(layer.Layer, LiveGradientProblem.Exploding, $"gradient norm is {layer.GradientNorm}"));
            else if (layer.GradientNorm == 0 || (median > 0 && layer.GradientNorm < limits.VanishingRelative * median))
                warnings.Add(new(layer.Layer, LiveGradientProblem.Vanishing,
                    $"gradient norm {layer.GradientNorm:G3} is {layer.GradientNorm / median:G2} of the median layer's {median:G3}"));
            else if (layer.UpdateRatio > limits.ExplodingUpdateRatio)
                warnings.Add(new(layer.Layer, LiveGradientProblem.Exploding,
                    $"one step changed the weights by {layer.UpdateRatio:G3} of their norm"));
        }
        return warnings;
    }
}
