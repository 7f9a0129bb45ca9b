namespace Distributed.Simulation;

/// <summary>
/// Who sends whom how many bytes of weights and gradient in one synchronous step, for N workers, K parameter
/// servers and a model state of P bytes. Nodes are numbered: 0 the coordinator, 1..K the servers (direct path
/// only; on the coordinator path the one server lives on the coordinator's node), then the workers.
/// On the coordinator path the coordinator's node moves 2·N·P bytes a step. On the direct path each server owns a
/// contiguous slice of the flat state, balanced in bytes and cut at 16-float boundaries (as the sharded server
/// will split it), and moves 2·N·P/K; the coordinator moves only the small shard and result messages, which the
/// simulated workers add on top of this plan. Each worker moves 2·P either way.
/// </summary>
public sealed class TrafficPlan
{
    /// <summary>Slices are cut at multiples of 16 floats (64 bytes), a cache line and a vector width.</summary>
    public const int AlignmentFloats = 16;

    private readonly long[] _sliceBytes;

    public TrafficPlan(int workers, int servers, long modelBytes, TransferPath path)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(servers, 1);
        if (modelBytes <= 0 || modelBytes % sizeof(float) != 0)
            throw new ArgumentException($"a model of {modelBytes} bytes is not a positive whole number of floats", nameof(modelBytes));
        if (path == TransferPath.Coordinator && servers != 1)
            throw new ArgumentException($"the coordinator path has one parameter server, not {servers}; {servers} servers need the direct path");
        if (modelBytes / sizeof(float) < (long)servers * AlignmentFloats)
            throw new ArgumentException($"a model of {modelBytes} bytes is too small for {servers} servers: each needs at least {AlignmentFloats} floats");
        Workers = workers;
        Servers = servers;
        ModelBytes = modelBytes;
        Path = path;
        _sliceBytes = SliceFloats(modelBytes / sizeof(float), servers).Select(f => f * sizeof(float)).ToArray();
    }

    public int Workers { get; }
    public int Servers { get; }
    public long ModelBytes { get; }
    public TransferPath Path { get; }

    public const int CoordinatorNode = 0;
    public int Nodes => 1 + (Path == TransferPath.Direct ? Servers : 0) + Workers;
    public int ServerNode(int server) => Path == TransferPath.Direct ? 1 + server : CoordinatorNode;
    public int WorkerNode(int worker) => 1 + (Path == TransferPath.Direct ? Servers : 0) + worker;

    /// <summary>Bytes of the state each server owns, in server order; they add up to the model.</summary>
    public IReadOnlyList<long> SliceBytes => _sliceBytes;

    public string NodeName(int node)
    {
        if (node == CoordinatorNode) return "coordinator";
        var firstWorker = WorkerNode(0);
        return node < firstWorker ? $"server-{node}" : $"worker-{node - firstWorker + 1}";
    }

    /// <summary>The transfers that bring one worker the current weights.</summary>
    public IEnumerable<Flow> WeightsTo(int worker) => Path == TransferPath.Coordinator
        ? [new Flow(CoordinatorNode, WorkerNode(worker), ModelBytes)]
        : Enumerable.Range(0, Servers).Select(s => new Flow(ServerNode(s), WorkerNode(worker), _sliceBytes[s]));

    /// <summary>The transfers that take one worker's gradient to the servers.</summary>
    public IEnumerable<Flow> GradientFrom(int worker) => Path == TransferPath.Coordinator
        ? [new Flow(WorkerNode(worker), CoordinatorNode, ModelBytes)]
        : Enumerable.Range(0, Servers).Select(s => new Flow(WorkerNode(worker), ServerNode(s), _sliceBytes[s]));

    /// <summary>Bytes each node sends plus receives in one step in which every worker fetches weights once and pushes one gradient.</summary>
    public long[] BytesPerStep()
    {
        var bytes = new long[Nodes];
        for (var w = 0; w < Workers; w++)
        {
            foreach (var flow in WeightsTo(w).Concat(GradientFrom(w)))
            {
                bytes[flow.From] += flow.Bytes;
                bytes[flow.To] += flow.Bytes;
            }
        }
        return bytes;
    }

    /// <summary>Splits <paramref name="floats"/> into <paramref name="parts"/> contiguous slices of whole 16-float blocks (the last may be short), sizes differing by at most one block.</summary>
    public static long[] SliceFloats(long floats, int parts)
    {
        var blocks = (floats + AlignmentFloats - 1) / AlignmentFloats;
        // The same boundaries as StateRanges.Split (⌊blocks·i/K⌋ blocks), in long arithmetic: a modeled model may be
        // larger than any state the real servers hold.
        var slices = new long[parts];
        for (var p = 0; p < parts; p++)
        {
            var start = Math.Min(floats, blocks * p / parts * AlignmentFloats);
            var end = p == parts - 1 ? floats : Math.Min(floats, blocks * (p + 1) / parts * AlignmentFloats);
            slices[p] = Math.Max(0, end - start);
        }
        return slices;
    }
}
