using System.Globalization;
using System.Text;

namespace Distributed.Tests.Support;

/// <summary>One sample line of the Prometheus text exposition format.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of the Prometheus text format (version 0.0.4): every line must be a comment (# HELP, # TYPE,
/// other # text), blank, or a sample `name{label="value",...} value [timestamp]` whose family was typed before it.
/// Anything else throws <see cref="FormatException"/> naming the line. Histograms are checked to be cumulative
/// and to end in a +Inf bucket equal to their count.
/// </summary>
public sealed class PrometheusText
{
    private PrometheusText(IReadOnlyList<PrometheusSample> samples, IReadOnlyDictionary<string, string> types)
    {
        Samples = samples;
        Types = types;
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }
    public IReadOnlyDictionary<string, string> Types { get; }

    public static PrometheusText Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line == "# EOF") continue;
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4, StringSplitOptions.None);
                if (parts.Length >= 4 && parts[1] == "TYPE")
                {
                    if (parts[3] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
                        throw new FormatException($"line {lineNumber}: unknown metric type '{parts[3]}'");
                    RequireName(parts[2], lineNumber);
                    types[parts[2]] = parts[3];
                }
                continue;
            }
            var sample = ParseSample(line, lineNumber);
            if (FamilyOf(sample.Name, types) is null)
                throw new FormatException($"line {lineNumber}: sample {sample.Name} has no # TYPE line before it");
            samples.Add(sample);
        }
        var parsed = new PrometheusText(samples, types);
        parsed.CheckHistograms();
        return parsed;
    }

    public IEnumerable<PrometheusSample> Series(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    /// <summary>The value of the one sample with this name and these labels; fails when there is none or several.</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var matches = Series(name, labels).ToList();
        if (matches.Count != 1)
            throw new InvalidOperationException($"expected one sample {name}{{{string.Join(",", labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}}, found {matches.Count}");
        return matches[0].Value;
    }

    private static string? FamilyOf(string name, IReadOnlyDictionary<string, string> types)
    {
        if (types.ContainsKey(name)) return name;
        foreach (var suffix in new[] { "_bucket", "_sum", "_count", "_total", "_created" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.ContainsKey(name[..^suffix.Length])) return name[..^suffix.Length];
        }
        return null;
    }

    private void CheckHistograms()
    {
        foreach (var (family, type) in Types)
        {
            if (type != "histogram") continue;
            foreach (var series in Series(family + "_bucket").GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}"))))
            {
                var buckets = series.Select(s => (Bound: ParseValue(s.Labels["le"], 0), s.Value)).OrderBy(b => b.Bound).ToList();
                for (var i = 1; i < buckets.Count; i++)
                {
                    if (buckets[i].Value < buckets[i - 1].Value)
                        throw new FormatException($"histogram {family}{{{series.Key}}}: bucket le={buckets[i].Bound} holds fewer than le={buckets[i - 1].Bound}");
                }
                if (buckets.Count == 0 || !double.IsPositiveInfinity(buckets[^1].Bound))
                    throw new FormatException($"histogram {family}{{{series.Key}}} has no +Inf bucket");
                var labels = series.First().Labels.Where(l => l.Key != "le").Select(l => (l.Key, l.Value)).ToArray();
                var count = Value(family + "_count", labels);
                if (count != buckets[^1].Value)
                    throw new FormatException($"histogram {family}{{{series.Key}}}: +Inf bucket {buckets[^1].Value} differs from _count {count}");
            }
        }
    }

    private static PrometheusSample ParseSample(string line, int lineNumber)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ') i++;
        var name = line[..i];
        RequireName(name, lineNumber);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i >= line.Length) throw new FormatException($"line {lineNumber}: unterminated label set");
                if (line[i] == '}') { i++; break; }
                var start = i;
                while (i < line.Length && line[i] != '=') i++;
                var key = line[start..i];
                RequireName(key, lineNumber);
                if (i + 1 >= line.Length || line[i + 1] != '"') throw new FormatException($"line {lineNumber}: label {key} has no quoted value");
                i += 2;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length) throw new FormatException($"line {lineNumber}: unterminated value of label {key}");
                    var c = line[i++];
                    if (c == '"') break;
                    if (c == '\\')
                    {
                        if (i >= line.Length) throw new FormatException($"line {lineNumber}: dangling escape");
                        var escaped = line[i++];
                        value.Append(escaped switch
                        {
                            'n' => '\n', '\\' => '\\', '"' => '"',
                            _ => throw new FormatException($"line {lineNumber}: unknown escape \\{escaped}"),
                        });
                    }
                    else value.Append(c);
                }
                if (!labels.TryAdd(key, value.ToString())) throw new FormatException($"line {lineNumber}: label {key} repeated");
                if (i < line.Length && line[i] == ',') i++;
            }
        }
        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2) throw new FormatException($"line {lineNumber}: expected a value and an optional timestamp after {name}");
        var sampleValue = ParseValue(rest[0], lineNumber);
        if (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            throw new FormatException($"line {lineNumber}: timestamp '{rest[1]}' is not an integer");
        return new PrometheusSample(name, labels, sampleValue);
    }

    private static double ParseValue(string text, int lineNumber) => text switch
    {
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"line {lineNumber}: '{text}' is not a number"),
    };

    private static void RequireName(string name, int lineNumber)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] is '_' or ':')
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
            throw new FormatException($"line {lineNumber}: '{name}' is not a valid metric or label name");
    }
}
