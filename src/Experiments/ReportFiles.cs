namespace Distributed.Experiments;

/// <summary>
/// The output directory of one report: created on first use, and every path handed out is remembered, so that a
/// report's <c>Write</c> can return the list of files it wrote.
/// </summary>
public sealed class ReportFiles
{
    private readonly string _directory;
    private readonly List<string> _written = [];

    public ReportFiles(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    public IReadOnlyList<string> Written => _written;

    /// <summary>The path of <paramref name="name"/> in the directory, counted as written.</summary>
    public string PathOf(string name)
    {
        var path = Path.Combine(_directory, name);
        _written.Add(path);
        return path;
    }
}
