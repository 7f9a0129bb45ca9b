namespace Distributed.Experiments;

/// <summary>
/// The correlation, across an ensemble of random initialisations, between d output/d input at two inputs a distance
/// apart: the quantity Balduzzi et al.'s theorems are about, R(i, j) = E[∇ᵢ∇ⱼ] / √(E[∇ᵢ²] E[∇ⱼ²]).
/// </summary>
/// <param name="Distance">|xᵢ − xⱼ| in input units (a whole number of grid steps).</param>
/// <param name="Correlation">
/// R over the ensemble for each pair of grid points that far apart, averaged over the pairs' positions on the grid.
/// </param>
/// <param name="StdErr">Jackknife standard error over groups of seeds: how much R moves with the draw of the ensemble.</param>
/// <param name="Pairs">How many pairs of grid points were averaged.</param>
public sealed record EnsemblePoint(string Variant, int Depth, double Distance, int Seeds, double Correlation, double StdErr, int Pairs);
