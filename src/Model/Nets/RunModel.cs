using Distributed.Protocol;

namespace Distributed.Model.Nets;

/// <summary>
/// A run's model as every part of the run needs it: its layout, the initial weights the seed fixes and the
/// weight-decay mask. Built once per run (building a replica is the only way to learn the layout) and passed
/// along, instead of each part building its own replica to read the same shape.
/// </summary>
public sealed record RunModel(ModelSpec Spec, int Seed, ParameterLayout Layout, float[] InitialState, float[] DecayMask)
{
    public int ParameterCount => Layout.ParameterCount;
    public int StateLength => Layout.StateLength;

    /// <summary>The seed fixes the initial weights; every run with the same seed starts from the same point.</summary>
    public static RunModel Build(ModelSpec spec, int seed)
    {
        using var replica = new FlatReplica(spec, seed);
        return new RunModel(spec, seed, replica.Layout, (float[])replica.State.Clone(), replica.Layout.DecayMask());
    }
}
