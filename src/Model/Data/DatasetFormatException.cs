namespace Distributed.Model.Data;

/// <summary>
/// A dataset file is missing, unreadable or malformed. <see cref="Exception.Message"/> always reads
/// "<c>path: problem</c>", so the operator can fix the file without a debugger.
/// </summary>
public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException(string filePath, string problem, Exception? innerException = null)
        : base($"{filePath}: {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    public string FilePath { get; }

    /// <summary>The message without the path prefix.</summary>
    public string Problem { get; }
}
