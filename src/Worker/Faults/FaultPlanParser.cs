using System.Globalization;

namespace Distributed.Worker.Faults;

/// <summary>
/// Reads fault plans. An entry is `nan@K`, `crash@K`, `crash-after@K`, `hang@K` (at the worker's K-th training shard) or `slow=Fx`
/// (every shard takes F times as long; `slow=Fx@K` from the K-th training shard on); entries are separated by commas
/// or given as repeated options. In one process an entry names its worker: `worker-1:slow=3x`.
/// </summary>
public static class FaultPlanParser
{
    private const string Syntax = "nan@K, crash@K, crash-after@K, hang@K or slow=Fx[@K]";

    /// <summary>A worker node's own plan (`distributed-worker --fault`, Worker:Fault): entries name no worker.</summary>
    public static FaultPlan ParseForNode(IEnumerable<string> texts, string source = "--fault")
    {
        var faults = new List<Fault>();
        foreach (var entry in Entries(texts))
        {
            if (entry.Contains(':'))
                throw new ArgumentException($"{source} '{entry}': a worker node's plan applies to the node itself; drop the '{entry[..entry.IndexOf(':')]}:' prefix");
            faults.Add(ParseFault(entry, entry, source));
        }
        return faults.Count == 0 ? FaultPlan.None : new FaultPlan(faults, CrashExitsProcess: true);
    }

    /// <summary>The plans of in-process workers (`train --fault worker-1:slow=3x`): each entry names one of <paramref name="workers"/>.</summary>
    public static IReadOnlyDictionary<string, FaultPlan> ParseByWorker(IEnumerable<string> texts, IReadOnlyCollection<string> workers, string source = "--fault")
    {
        var byWorker = new Dictionary<string, List<Fault>>();
        foreach (var entry in Entries(texts))
        {
            var colon = entry.IndexOf(':');
            if (colon < 0)
                throw new ArgumentException($"{source} '{entry}': in one process name the worker it applies to, e.g. {workers.FirstOrDefault() ?? "worker-0"}:{entry}");
            var worker = entry[..colon].Trim();
            if (!workers.Contains(worker))
                throw new ArgumentException($"{source} '{entry}': there is no worker '{worker}' in this run (workers: {string.Join(", ", workers)})");
            var fault = ParseFault(entry[(colon + 1)..].Trim(), entry, source);
            if (!byWorker.TryGetValue(worker, out var list)) byWorker[worker] = list = new List<Fault>();
            list.Add(fault);
        }
        return byWorker.ToDictionary(p => p.Key, p => new FaultPlan(p.Value));
    }

    private static IEnumerable<string> Entries(IEnumerable<string> texts) => texts
        .SelectMany(text => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static Fault ParseFault(string text, string entry, string source)
    {
        var at = text.IndexOf('@');
        var head = at < 0 ? text : text[..at];
        long? shard = at < 0 ? null : Shard(text[(at + 1)..], entry, source);
        if (head.StartsWith("slow", StringComparison.OrdinalIgnoreCase))
        {
            var factorText = head.Length > 4 && head[4] == '=' ? head[5..] : "";
            if (!factorText.EndsWith('x') || !double.TryParse(factorText[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var factor)
                || !double.IsFinite(factor) || factor < 1 || factor > 1000)
                throw new ArgumentException($"{source} '{entry}': slow needs a factor between 1 and 1000 followed by x, e.g. slow=3x");
            return new Fault(FaultKind.Slow, shard ?? 1, factor);
        }
        var kind = head.ToLowerInvariant() switch
        {
            "nan" => FaultKind.Nan,
            "crash" => FaultKind.Crash,
            "crash-after" => FaultKind.CrashAfterAnswer,
            "hang" => FaultKind.Hang,
            _ => throw new ArgumentException($"{source} '{entry}': unknown fault '{head}' (expected {Syntax})"),
        };
        return new Fault(kind, shard ?? throw new ArgumentException($"{source} '{entry}': {head} needs the training shard it happens at, e.g. {head}@120"));
    }

    private static long Shard(string text, string entry, string source) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var shard) && shard >= 1
            ? shard
            : throw new ArgumentException($"{source} '{entry}': '@{text}' is not a training shard number (1 or more)");
}
