using Distributed.Protocol;
using Distributed.Coordinator;
using Distributed.ParameterServer;

namespace Distributed.Training;

/// <summary>A whole training run as the user asked for it: model, data, plan, optimizer, and where outputs go.</summary>
public sealed record TrainingJob(
    ModelSpec Model,
    DataSpec Data,
    TrainingPlan Plan,
    SgdSettings Sgd,
    int Workers,
    int ThreadsPerWorker,
    string? OutputDirectory);
