using System.Runtime.InteropServices;

namespace Distributed.Cli.Commands;

/// <summary>
/// Ctrl+C and SIGTERM (docker stop, kill, a scheduler's preemption) ask a run to stop politely: the step in
/// flight completes, a checkpoint is written, and the process exits so that `--resume` continues where it
/// stopped. A second signal is not intercepted, so an impatient operator can always end the process at once.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly TextWriter _log;
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    public StopSignals(CancellationToken outer, TextWriter log)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _log = log;
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public CancellationToken Token => _stop.Token;

    /// <summary>The signal that stopped the run, if one did.</summary>
    public PosixSignal? Received { get; private set; }

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _received) > 1) return;
        context.Cancel = true;
        Received = context.Signal;
        _log.WriteLine($"\n{context.Signal}: stopping after the step in flight and writing a checkpoint (signal again to quit at once)");
        _stop.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _stop.Dispose();
    }
}
