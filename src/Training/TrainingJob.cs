using Distributed.Protocol;
using Distributed.Coordinator;
using Distributed.ParameterServer;

namespace Distributed.Training;

/// <summary>
/// A whole training run as the user asked for it: model, data, plan, optimizer, and where outputs go.
/// <see cref="Compression"/> is how workers round the gradients they push (with error feedback); none by default.
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
    public GradientCompression Compression { get; init; } = GradientCompression.None;
}
