using Distributed.Training;

namespace Distributed.Observability.Telemetry;

/// <summary>What a run is, for the dashboard header.</summary>
public sealed record RunDescription(string Model, string Dataset, int Workers, int GlobalBatch, int Epochs, int HealthEvery, string? OutputDirectory)
{
    public static RunDescription Of(TrainingJob job) => new(job.Model.Name, job.Data.Name, job.Workers, job.Plan.GlobalBatch,
        job.Plan.Epochs, job.Plan.HealthEvery, job.OutputDirectory);
}
