using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// The weights version the parameter server last published, as the coordinator passes it on to workers that lack
/// it. The parameter server owns weights and versions; the coordinator only keeps its latest publication.
/// </summary>
public sealed record PublishedWeights(long Version, float[] State)
{
    public static PublishedWeights Of(CurrentParameters parameters) => new(parameters.WeightsVersion, parameters.State);

    public static PublishedWeights Of(StepApplied applied) => new(applied.WeightsVersion, applied.State);
}
