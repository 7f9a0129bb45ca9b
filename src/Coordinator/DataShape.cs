using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>The run's dataset as the first configured worker reported it; every later worker must see the same.</summary>
public sealed record DataShape(int TrainCount, int TestCount)
{
    /// <summary>Why a configured worker cannot take part (its model or data differ from the run's), or null.</summary>
    public static string? Check(WorkerConfigured worker, int stateLength, DataShape? run)
    {
        if (worker.StateLength != stateLength)
            return $"built a model with {worker.StateLength} state values, expected {stateLength}";
        if (worker.TrainCount <= 0)
            return $"sees {worker.TrainCount} training samples";
        if (run is not null && (worker.TrainCount != run.TrainCount || worker.TestCount != run.TestCount))
            return $"sees {worker.TrainCount}/{worker.TestCount} samples, the others {run.TrainCount}/{run.TestCount}";
        return null;
    }
}
