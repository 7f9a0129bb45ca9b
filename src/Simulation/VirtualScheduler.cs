using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace Distributed.Simulation;

/// <summary>
/// The actor system's scheduler on a simulated clock: a discrete-event queue whose time moves only when
/// <see cref="RunNext"/> takes the earliest pending event. The coordinator's timers (shard deadlines, the join
/// deadline) and every modeled delay of the simulated workers and links are events here, so deadlines fire on
/// simulated time. Events due at the same instant run in the order they were scheduled, which keeps a run
/// reproducible. Installed through <c>akka.scheduler.implementation</c> (see <see cref="Hocon"/>).
/// </summary>
public sealed class VirtualScheduler : IScheduler, IAdvancedScheduler
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly PriorityQueue<Event, (long Due, long Sequence)> _queue = new();
    // Akka itself may schedule from its own threads while the system starts or stops; the queue stays consistent.
    private readonly Lock _gate = new();
    private long _now;
    private long _sequence;

    public VirtualScheduler(Config config, ILoggingAdapter log) { }

    public static string Hocon => $"akka.scheduler.implementation = \"{typeof(VirtualScheduler).AssemblyQualifiedName}\"";

    /// <summary>Simulated time since the system started.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(Interlocked.Read(ref _now));

    public int Pending
    {
        get { lock (_gate) return _queue.Count; }
    }

    /// <summary>
    /// Moves the clock to the earliest pending event and runs it (a cancelled one is dropped and the next taken).
    /// False when nothing is pending: the simulated system has nothing left that could ever happen.
    /// </summary>
    public bool RunNext()
    {
        Event next;
        lock (_gate)
        {
            do
            {
                if (!_queue.TryDequeue(out next!, out var due)) return false;
                Interlocked.Exchange(ref _now, due.Due);
            } while (next.Cancelable?.IsCancellationRequested == true);
        }
        next.Run();
        if (next.Interval is { } interval && next.Cancelable?.IsCancellationRequested != true) Add(interval, next);
        return true;
    }

    private void Add(TimeSpan delay, Event item)
    {
        lock (_gate)
        {
            var due = _now + Math.Max(0, delay.Ticks);
            _queue.Enqueue(item, (due, _sequence++));
        }
    }

    private void Tell(TimeSpan delay, TimeSpan? interval, ICanTell receiver, object message, IActorRef sender, ICancelable? cancelable) =>
        Add(delay, new Event(() => receiver.Tell(message, sender), interval, cancelable));

    private void Act(TimeSpan delay, TimeSpan? interval, Action action, ICancelable? cancelable) =>
        Add(delay, new Event(action, interval, cancelable));

    // ---- IScheduler ----

    public DateTimeOffset Now => Epoch + Elapsed;
    public TimeSpan MonotonicClock => Elapsed;
    public TimeSpan HighResMonotonicClock => Elapsed;
    public IAdvancedScheduler Advanced => this;

    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender) => Tell(delay, null, receiver, message, sender, null);

    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Tell(delay, null, receiver, message, sender, cancelable);

    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender) =>
        Tell(initialDelay, interval, receiver, message, sender, null);

    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Tell(initialDelay, interval, receiver, message, sender, cancelable);

    public void ScheduleOnce(TimeSpan delay, Action action) => Act(delay, null, action, null);

    public void ScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) => Act(delay, null, action, cancelable);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action) => Act(initialDelay, interval, action, null);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Act(initialDelay, interval, action, cancelable);

    public void ScheduleOnce(TimeSpan delay, IRunnable action) => Act(delay, null, action.Run, null);

    public void ScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) => Act(delay, null, action.Run, cancelable);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action) => Act(initialDelay, interval, action.Run, null);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Act(initialDelay, interval, action.Run, cancelable);

    private sealed record Event(Action Run, TimeSpan? Interval, ICancelable? Cancelable);
}
