using Akka.Actor;
using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.ParameterServer;

/// <summary>
/// The parameter server as the coordinator sees it: <see cref="ApplyStep"/> → <see cref="StepApplied"/>,
/// <see cref="ContributionsRefused"/> or <see cref="StepRefused"/>, and <see cref="GetParameters"/> → one flat
/// <see cref="CurrentParameters"/>. Behind it, K <see cref="RangeServerActor"/>s (<c>--ps-shards K</c>) each own one
/// range of the flat state (<see cref="StateRanges"/>) and apply a step in two phases, so a step is applied in every
/// range or in none and a refusal means what it means with one server.
/// Why a group in front rather than the coordinator talking to K servers: the coordinator, the checkpoints and the
/// run's failure path keep one actor to talk to and one flat state, so one-process runs, resumes with another K and
/// the tests of a single server are unchanged; the K-fold split of work is behind this one door. (Across nodes the
/// gradients would go to the servers directly and only the small prepare/commit messages through here.)
/// The group owns the weights version; the servers own the state and the momentum.
/// </summary>
public sealed class ParameterServerGroup : ReceiveActor, IWithStash
{
    private readonly IReadOnlyList<StateRange> _ranges;
    private readonly IActorRef[] _servers;
    private readonly int _parameterCount;
    private readonly int _stateLength;
    private readonly SupervisorStrategy _supervision;
    private long _version;
    private long _stepsApplied;
    // The step between its two phases: what the coordinator sent, who sent it, and the servers' answers so far.
    private (ApplyStep Message, IActorRef Sender, StepVote Vote)? _inFlight;

    public ParameterServerGroup(ParameterServerSetup setup, Func<RangeServerSetup, Props>? serverProps = null)
    {
        _parameterCount = setup.ParameterCount;
        _stateLength = setup.InitialState.Length;
        _version = setup.InitialVersion;
        _stepsApplied = setup.InitialVersion;
        _ranges = StateRanges.Split(_stateLength, setup.Servers);
        var props = serverProps ?? RangeServerActor.Props;
        _servers = _ranges.Select((range, i) => Context.Watch(Context.ActorOf(props(RangeServerSetup.Slice(setup, i, range)), $"range-{i}"))).ToArray();
        _supervision = new ServerSupervision(Self, _servers);
        Become(Idle);
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props(ParameterServerSetup setup, Func<RangeServerSetup, Props>? serverProps = null) =>
        Akka.Actor.Props.Create(() => new ParameterServerGroup(setup, serverProps));

    protected override SupervisorStrategy SupervisorStrategy() => _supervision;

    private void Idle()
    {
        Receive<ApplyStep>(HandleApplyStep);
        Receive<GetParameters>(_ => CollectParameters());
        ReceiveFailures();
        // Answers to a step or a collection abandoned when a server failed: nothing waits for them any more.
        Receive<StepPrepared>(_ => { });
        Receive<CurrentRange>(_ => { });
        Receive<Status.Failure>(_ => { });
    }

    private void Preparing()
    {
        Receive<StepPrepared>(HandlePrepared);
        Receive<ApplyStep>(_ => Stash.Stash());
        Receive<GetParameters>(_ => Stash.Stash());
        ReceiveFailures();
    }

    private void ReceiveFailures()
    {
        Receive<ServerFailed>(failed => Fail($"parameter server {failed.Server} of {_servers.Length} (state {_ranges[failed.Server]}) failed: " +
            $"{failed.Error.GetType().Name}: {failed.Error.Message}"));
        Receive<Terminated>(terminated =>
        {
            var server = Array.IndexOf(_servers, terminated.ActorRef);
            Fail($"parameter server {server} of {_servers.Length} (state {_ranges[server]}) stopped");
        });
    }

    private void HandleApplyStep(ApplyStep message)
    {
        foreach (var shard in message.Shards)
        {
            if (shard.Parked is null && shard.Buffer.Length != _stateLength)
                throw new InvalidOperationException($"step {message.Step} shard {shard.Shard}: buffer has {shard.Buffer.Length} values, the model state has {_stateLength}");
        }
        _inFlight = (message, Sender, new StepVote(message.Step, _ranges));
        var prepare = new PrepareStep(message.Step, message.LearningRate, message.Shards, message.IncludeGradient, message.HandlesSuffice);
        foreach (var server in _servers) server.Tell(prepare);
        Become(Preparing);
    }

    private void HandlePrepared(StepPrepared answer)
    {
        if (_inFlight is not { } step || !step.Vote.Record(answer) || !step.Vote.IsComplete) return;
        var (message, sender, vote) = step;
        _inFlight = null;
        var verdict = vote.Decide();
        foreach (var server in _servers) server.Tell(verdict == StepVote.Verdict.Commit ? new CommitStep(message.Step) : new AbortStep(message.Step));
        switch (verdict)
        {
            case StepVote.Verdict.RefuseContributions:
                // The refused shards' buffers are spent; the others stay with the coordinator's round, which sends them again.
                var (bad, reason) = vote.NonFiniteShards(_parameterCount);
                foreach (var shard in message.Shards.Where(s => bad.Contains(s.Shard) && s.Parked is null)) TensorBufferPool.Shared.Return(shard.Buffer);
                sender.Tell(new ContributionsRefused(message.Step, bad, reason));
                break;
            case StepVote.Verdict.RecomputeContributions:
                // Results parked on a worker that is gone: aborted everywhere, and those shards are computed again. Buffers held
                // here (none with server nodes, where every result is parked) stay with the coordinator's round, as on a refusal.
                var (lost, why) = vote.LostShards();
                sender.Tell(new ContributionsLost(message.Step, lost, why));
                break;
            case StepVote.Verdict.RefuseStep:
                // Finite gradients that still overflow the weights: the model itself diverged. Every range keeps its last good state.
                ReturnBuffers(message);
                sender.Tell(new StepRefused(message.Step,
                    $"the update with learning rate {message.LearningRate:G4} and gradient norm {vote.GradientNorm():G4} makes the weights non-finite"));
                break;
            default:
                ReturnBuffers(message);
                _version++;
                _stepsApplied++;
                var (aggregation, optimizer) = vote.SlowestTimings();
                sender.Tell(new StepApplied(message.Step, _version, vote.AssembleState(_stateLength), message.LearningRate, vote.GradientNorm(),
                    aggregation, optimizer, message.IncludeGradient ? vote.AssembleGradient(_parameterCount) : null, vote.StateRanges()));
                break;
        }
        Become(Idle);
        Stash.UnstashAll();
    }

    /// <summary>The shard buffers are ours (ApplyStep hands them over) and, every server having read them, spent: the next step's shards reuse them.</summary>
    private static void ReturnBuffers(ApplyStep message)
    {
        foreach (var shard in message.Shards.Where(s => s.Parked is null)) TensorBufferPool.Shared.Return(shard.Buffer);
    }

    /// <summary>
    /// Asks every server for its range; the answers come after any commit or abort sent before (each server's mailbox
    /// is ordered), so the flat state is the one after a whole number of steps. Steps wait until it is assembled.
    /// </summary>
    private void CollectParameters()
    {
        var requester = Sender;
        var ranges = new CurrentRange?[_servers.Length];
        var answered = 0;
        foreach (var server in _servers) server.Tell(GetRange.Instance);
        Become(() =>
        {
            Receive<CurrentRange>(range =>
            {
                if (range.Server < 0 || range.Server >= ranges.Length || ranges[range.Server] is not null) return;
                ranges[range.Server] = range;
                if (++answered < ranges.Length) return;
                requester.Tell(Assemble(ranges!));
                Become(Idle);
                Stash.UnstashAll();
            });
            // A range server on a server node that is gone answers with a failure: the flat state cannot be assembled.
            Receive<Status.Failure>(failure =>
            {
                requester.Tell(new Status.Failure(new InvalidOperationException($"the parameter server's state cannot be assembled: {failure.Cause.Message}")));
                Become(Idle);
                Stash.UnstashAll();
            });
            Receive<ApplyStep>(_ => Stash.Stash());
            Receive<GetParameters>(_ => Stash.Stash());
            ReceiveFailures();
        });
    }

    private CurrentParameters Assemble(CurrentRange[] ranges)
    {
        var state = new float[_stateLength];
        var momentum = new float[_parameterCount];
        foreach (var range in ranges)
        {
            var start = _ranges[range.Server].Start;
            range.State.CopyTo(state.AsSpan(start));
            range.Momentum.CopyTo(momentum.AsSpan(start));
        }
        return new CurrentParameters(_version, state, momentum, _stepsApplied);
    }

    /// <summary>
    /// A server failed or stopped: the step in flight is aborted in every range (momentum restored), so the servers
    /// hold the state after the last applied step, and the group fails, which fails the run through its guardian; the
    /// run then asks for that state and writes it as the failure's checkpoint. Its buffers are left to the garbage
    /// collector: a server may still be reading them.
    /// </summary>
    private void Fail(string reason)
    {
        if (_inFlight is { } step)
        {
            foreach (var server in _servers) server.Tell(new AbortStep(step.Message.Step));
            reason = $"step {step.Message.Step}: {reason}";
        }
        _inFlight = null;
        Become(Idle);
        Stash.UnstashAll();
        throw new InvalidOperationException(reason);
    }

    /// <summary>Range server <see cref="Server"/> threw <see cref="Error"/>; told by <see cref="ServerSupervision"/>.</summary>
    private sealed record ServerFailed(int Server, Exception Error) : INoSerializationVerificationNeeded;

    /// <summary>
    /// Resumes a server that threw, so it keeps its state for the failure's checkpoint, and tells the group which one
    /// it was (a decider alone sees the exception, not the child). A server that cannot even start is stopped.
    /// </summary>
    private sealed class ServerSupervision(IActorRef group, IActorRef[] servers) : OneForOneStrategy(Akka.Actor.SupervisorStrategy.DefaultDecider)
    {
        protected override Directive Handle(IActorRef child, Exception exception)
        {
            var server = Array.IndexOf(servers, child);
            if (server < 0) return Directive.Stop;
            // One that cannot start is stopped; the group hears of it as Terminated.
            if (exception is ActorInitializationException) return Directive.Stop;
            group.Tell(new ServerFailed(server, exception));
            return Directive.Resume;
        }
    }
}
