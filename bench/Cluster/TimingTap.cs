using System.Collections.Concurrent;
using Akka.Actor;
using Distributed.Protocol;

namespace Distributed.Bench.Cluster;

/// <summary>
/// Sits between the coordinator and its workers (local worker actors or remote-worker proxies alike) and records,
/// per training round, the longest shard compute time the workers report. Step time minus that is the time a
/// step spends outside compute: moving tensors, waiting, aggregating, applying.
/// </summary>
public sealed class TimingTap : ReceiveActor
{
    private readonly Dictionary<IActorRef, IActorRef> _relays = new();

    public TimingTap(IActorRef coordinator, ConcurrentDictionary<long, double> computeByRound)
    {
        Receive<RegisterWorker>(register =>
        {
            var relay = Context.ActorOf(Relay.Props(Sender, coordinator, computeByRound));
            _relays[Sender] = relay;
            coordinator.Tell(register, relay);
        });
        // Proxies answer the actor they registered with (this one), not the relay: route them through it.
        ReceiveAny(message =>
        {
            if (!_relays.TryGetValue(Sender, out var relay)) return;
            Relay.Record(message, computeByRound);
            coordinator.Tell(message, relay);
        });
    }

    public static Props Props(IActorRef coordinator, ConcurrentDictionary<long, double> computeByRound) =>
        Akka.Actor.Props.Create(() => new TimingTap(coordinator, computeByRound));

    private sealed class Relay : ReceiveActor
    {
        public Relay(IActorRef worker, IActorRef coordinator, ConcurrentDictionary<long, double> computeByRound)
        {
            Context.Watch(worker);
            Receive<Terminated>(_ => Context.Stop(Self));
            ReceiveAny(message =>
            {
                if (!Sender.Equals(worker))
                {
                    worker.Tell(message, Self);
                    return;
                }
                Record(message, computeByRound);
                coordinator.Tell(message, Self);
            });
        }

        public static Props Props(IActorRef worker, IActorRef coordinator, ConcurrentDictionary<long, double> computeByRound) =>
            Akka.Actor.Props.Create(() => new Relay(worker, coordinator, computeByRound));

        public static void Record(object message, ConcurrentDictionary<long, double> computeByRound)
        {
            if (message is WorkCompleted { Kind: WorkKind.Train } completed)
                computeByRound.AddOrUpdate(completed.Round, completed.ComputeMilliseconds, (_, seen) => Math.Max(seen, completed.ComputeMilliseconds));
        }
    }
}
