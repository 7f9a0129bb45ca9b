using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// The weights version the parameter server last published, as the coordinator passes it on to workers that lack
/// it. The parameter server owns weights and versions; the coordinator only keeps its latest publication.
/// With range servers on server nodes the publication also says where each range is served (<see cref="Ranges"/>),
/// which is what remote workers are sent, and <see cref="State"/> is null after a step whose values the coordinator
/// did not need (<see cref="StateNeed"/>).
/// </summary>
public sealed record PublishedWeights(long Version, float[]? State, StateRangeHandle[]? Ranges, int StateLength)
{
    public PublishedWeights(long version, float[] state) : this(version, state, null, state.Length)
    {
    }

    public static PublishedWeights Of(CurrentParameters parameters) => new(parameters.WeightsVersion, parameters.State);

    /// <param name="stateLength">The model's state length (the step's state may be absent).</param>
    public static PublishedWeights Of(StepApplied applied, int stateLength) =>
        new(applied.WeightsVersion, applied.State, applied.StateRanges, stateLength);
}
