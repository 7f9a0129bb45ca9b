using System.Diagnostics;
using Akka.Actor;
using Distributed.Coordinator;
using Distributed.Model.Data;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Training.Checkpoints;

/// <summary>
/// Writes checkpoints while a run goes on (on the <see cref="CheckpointSchedule"/>: every K applied steps and/or every
/// so many minutes), the final one at its end, and the last state a failed run's parameter server held. It asks the
/// parameter server for its state (weights, momentum, step: one consistent snapshot, whatever step the server has
/// reached by then) and writes off the actor threads, one write at a time; a periodic write that would overlap the
/// previous one is skipped rather than queued. A state with a NaN or infinity is never written: it would replace the
/// last good checkpoint with a useless one.
/// </summary>
public sealed class CheckpointWriter(TrainingJob job, string directory, int parameterCount, CheckpointSchedule schedule,
    int keep = CheckpointRetention.DefaultKeep, TextWriter? log = null, Func<DatasetFingerprint?>? data = null) : ITrainingObserver
{
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly Stopwatch _sinceLastWrite = Stopwatch.StartNew();
    private IActorRef? _parameterServer;
    private int _stepsPerEpoch;

    /// <summary>Every K steps only, kept for callers (and tests) that think in steps.</summary>
    public CheckpointWriter(TrainingJob job, string directory, int parameterCount, long every, TextWriter? log = null)
        : this(job, directory, parameterCount, new CheckpointSchedule(every, null), CheckpointRetention.DefaultKeep, log) { }

    public string Directory { get; } = directory;

    /// <summary>Steps of the last checkpoint written, for tests and reports.</summary>
    public long LastWrittenStep { get; private set; } = -1;

    public void Attach(IActorRef parameterServer) => _parameterServer = parameterServer;

    public void OnStep(StepCompleted step)
    {
        _stepsPerEpoch = step.StepsPerEpoch;
        if (_parameterServer is null || !schedule.Due(step.Step + 1, _sinceLastWrite.Elapsed)) return;
        if (!_writing.Wait(0)) return;
        _ = WritePeriodicAsync(_parameterServer);
    }

    private async Task WritePeriodicAsync(IActorRef parameterServer)
    {
        try
        {
            var parameters = await parameterServer.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(60));
            await Task.Run(() => Write(parameters));
        }
        // InvalidOperationException: the parameter server's state could not be assembled (a server node is gone).
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or AskTimeoutException or InvalidOperationException)
        {
            log?.WriteLine($"  note: checkpoint not written: {error.Message}");
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes the final (or a stopped or failed run's last) state after any periodic write in flight has finished; false when it was not written.</summary>
    public async Task<bool> WriteFinalAsync(CurrentParameters parameters)
    {
        await _writing.WaitAsync();
        try
        {
            return await Task.Run(() => Write(parameters));
        }
        finally
        {
            _writing.Release();
        }
    }

    private bool Write(CurrentParameters parameters)
    {
        if (!IsFinite(parameters.State) || !IsFinite(parameters.Momentum))
        {
            log?.WriteLine($"  note: checkpoint of step {parameters.StepsApplied} not written: its state holds NaN or infinity; the previous checkpoint stays");
            return false;
        }
        Checkpoint.From(job, parameters, parameterCount, _stepsPerEpoch, data?.Invoke()).Write(Directory, keep);
        LastWrittenStep = parameters.StepsApplied;
        _sinceLastWrite.Restart();
        return true;
    }

    private static bool IsFinite(float[] values)
    {
        foreach (var value in values)
        {
            if (!float.IsFinite(value)) return false;
        }
        return true;
    }
}
