using Akka.Actor;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Training.Checkpoints;

/// <summary>
/// Writes a checkpoint every K applied steps while a run goes on, and the final one at its end. It asks the
/// parameter server for its state (weights, momentum, step: one consistent snapshot, whatever step the server has
/// reached by then) and writes off the actor threads, one write at a time; a periodic write that would
/// overlap the previous one is skipped rather than queued.
/// </summary>
public sealed class CheckpointWriter(TrainingJob job, string directory, int parameterCount, long every, TextWriter? log = null)
    : ITrainingObserver
{
    private readonly SemaphoreSlim _writing = new(1, 1);
    private IActorRef? _parameterServer;
    private int _stepsPerEpoch;

    public string Directory { get; } = directory;

    /// <summary>Steps of the last checkpoint written, for tests and reports.</summary>
    public long LastWrittenStep { get; private set; } = -1;

    public void Attach(IActorRef parameterServer) => _parameterServer = parameterServer;

    public void OnStep(StepCompleted step)
    {
        _stepsPerEpoch = step.StepsPerEpoch;
        if (every <= 0 || (step.Step + 1) % every != 0 || _parameterServer is null) return;
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
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or AskTimeoutException)
        {
            log?.WriteLine($"  note: checkpoint not written: {error.Message}");
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes the final state after any periodic write in flight has finished.</summary>
    public async Task WriteFinalAsync(CurrentParameters parameters)
    {
        await _writing.WaitAsync();
        try
        {
            await Task.Run(() => Write(parameters));
        }
        finally
        {
            _writing.Release();
        }
    }

    private void Write(CurrentParameters parameters)
    {
        Checkpoint.From(job, parameters, parameterCount, _stepsPerEpoch).Write(Directory);
        LastWrittenStep = parameters.StepsApplied;
    }
}
