using System.Globalization;
using System.Text.RegularExpressions;

namespace Distributed.Training.Checkpoints;

/// <summary>
/// Which checkpoint files a run keeps: each write lands in checkpoint-{step}.bin and checkpoint.bin names the newest
/// (what `--resume DIR` reads); of the step files only the newest K stay, so a bad last state (or a corrupted file)
/// still leaves earlier ones to go back to.
/// </summary>
public static partial class CheckpointRetention
{
    public const int DefaultKeep = 3;

    public static string StepFileName(long step) => string.Create(CultureInfo.InvariantCulture, $"checkpoint-{step:D8}.bin");

    /// <summary>The step files among <paramref name="fileNames"/> beyond the newest <paramref name="keep"/>; other names are never touched.</summary>
    public static IReadOnlyList<string> ToDelete(IEnumerable<string> fileNames, int keep) => fileNames
        .Select(name => (Name: name, Match: StepFile().Match(name)))
        .Where(f => f.Match.Success)
        .OrderByDescending(f => long.Parse(f.Match.Groups[1].Value, CultureInfo.InvariantCulture))
        .Skip(Math.Max(1, keep))
        .Select(f => f.Name)
        .ToList();

    [GeneratedRegex(@"^checkpoint-(\d{1,18})\.bin$")]
    private static partial Regex StepFile();
}
