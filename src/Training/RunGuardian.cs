using Akka.Actor;
using Distributed.Protocol;

namespace Distributed.Training;

/// <summary>
/// Parent of one of a run's central actors (the parameter server or the coordinator). Akka's default would restart a
/// failed actor with empty state and leave the run waiting forever for an answer that is lost; instead an exception
/// fails the run with its message. The parameter server is resumed, so it still holds the last good state for the
/// failure's checkpoint; the coordinator is stopped, so nothing more is scheduled.
/// </summary>
public sealed class RunGuardian : ReceiveActor
{
    private readonly IActorRef _observer;
    private readonly string _role;
    private readonly Directive _directive;

    public RunGuardian(Props child, string name, string role, Directive directive, IActorRef observer)
    {
        _observer = observer;
        _role = role;
        _directive = directive;
        var created = Context.ActorOf(child, name);
        Receive<GetChild>(_ => Sender.Tell(created));
    }

    public static Props Props(Props child, string name, string role, Directive directive, IActorRef observer) =>
        Akka.Actor.Props.Create(() => new RunGuardian(child, name, role, directive, observer));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(error =>
    {
        _observer.Tell(new TrainingFailed($"the {_role} failed: {error.GetType().Name}: {error.Message}", -1));
        return _directive;
    });

    /// <summary>Asks for the guarded actor.</summary>
    public sealed record GetChild
    {
        public static GetChild Instance { get; } = new();
    }
}
