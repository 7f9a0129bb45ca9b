using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>The end of a run: the final weights, or why it stopped.</summary>
public sealed record TrainingOutcome(TrainingFinished? Finished, TrainingFailed? Failed)
{
    /// <summary>
    /// The parameter server's last state, momentum included (for checkpoints): set on success, and when the run
    /// was stopped on request (then it is the state after the last applied step, which `--resume` continues).
    /// </summary>
    public CurrentParameters? Parameters { get; init; }

    /// <summary>Stopped on request (Ctrl+C, SIGTERM, a cancelled token) rather than failed.</summary>
    public bool Stopped { get; init; }

    public bool Succeeded => Finished is not null;

    /// <summary>Every worker of the run as the coordinator last saw it, with the training shards each delivered.</summary>
    public IReadOnlyList<WorkerStatus> Workers { get; init; } = [];
}
