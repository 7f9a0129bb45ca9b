using Distributed.Protocol;
using Distributed.Coordinator;
using Distributed.ParameterServer;

namespace Distributed.Training;

/// <summary>
/// A whole training run as the user asked for it: model, data, plan, optimizer, and where outputs go.
/// <see cref="ParameterServers"/> (<c>--ps-shards</c>) splits the parameter server by state range; it does not change
/// the result, so a checkpoint does not record it and a run may resume with another number.
/// <see cref="Compression"/> is how workers round the gradients they push (with error feedback); none by default.
/// <see cref="LabelSmoothing"/> (<c>--label-smoothing</c>) changes the training loss, so a checkpoint records it;
/// <see cref="FlipAveragedEvaluation"/> (<c>--test-flip</c>) changes only how the test set is scored.
/// </summary>
public sealed record TrainingJob(
    ModelSpec Model,
    DataSpec Data,
    TrainingPlan Plan,
    SgdSettings Sgd,
    int Workers,
    int ThreadsPerWorker,
    string? OutputDirectory)
{
    public int ParameterServers { get; init; } = 1;
    public GradientCompression Compression { get; init; } = GradientCompression.None;
    public double LabelSmoothing { get; init; }
    public bool FlipAveragedEvaluation { get; init; }
}
