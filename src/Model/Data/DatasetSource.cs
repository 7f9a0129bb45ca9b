using System.IO.Compression;

namespace Distributed.Model.Data;

/// <summary>
/// One dataset file opened for reading, gzip or raw, that turns every I/O and decompression failure into a
/// <see cref="DatasetFormatException"/> naming the file, so callers never see a bare EndOfStream or InvalidData.
/// </summary>
internal sealed class DatasetSource : IDisposable
{
    private const int BufferSize = 1 << 16;

    private readonly FileStream _file;
    private readonly Stream _stream;

    private DatasetSource(string path, FileStream file, Stream stream, bool compressed)
    {
        Path = path;
        _file = file;
        _stream = stream;
        IsCompressed = compressed;
    }

    public string Path { get; }

    /// <summary>True when the file starts with the gzip magic 1f 8b; the name is not consulted because names lie.</summary>
    public bool IsCompressed { get; }

    /// <summary>Size on disk; for a gzip file this is the compressed size.</summary>
    public long FileLength => _file.Length;

    /// <summary>"after gzip decompression" or "", to make size complaints about gzip files unambiguous.</summary>
    public string SizeQualifier => IsCompressed ? " after gzip decompression" : "";

    public static DatasetSource Open(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DatasetFormatException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetFormatException(path, $"cannot open file: {e.Message}", e);
        }

        try
        {
            if (file.Length == 0)
            {
                throw new DatasetFormatException(path, "file is empty (0 bytes)");
            }

            Span<byte> magic = stackalloc byte[2];
            int read = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
            file.Position = 0;
            bool compressed = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            Stream stream = compressed ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
            return new DatasetSource(path, file, stream, compressed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            throw new DatasetFormatException(path, $"cannot read file: {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Fills as much of <paramref name="buffer"/> as the file still holds; returns the bytes read.</summary>
    public int ReadUpTo(Span<byte> buffer)
    {
        try
        {
            return _stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw Fail($"corrupt gzip data: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail($"cannot read file: {e.Message}", e);
        }
    }

    /// <summary>Reads and counts what is left; corrupt gzip in the tail still fails loudly.</summary>
    public long CountRemainingBytes()
    {
        Span<byte> scratch = stackalloc byte[4096];
        long total = 0;
        int read;
        while ((read = ReadUpTo(scratch)) > 0)
        {
            total += read;
        }

        return total;
    }

    /// <summary>The whole (decompressed) content.</summary>
    public byte[] ReadAll()
    {
        if (!IsCompressed)
        {
            if (FileLength > Array.MaxLength)
            {
                throw Fail($"file is too large to load: {FileLength} bytes");
            }

            var content = GC.AllocateUninitializedArray<byte>((int)FileLength);
            int read = ReadUpTo(content);
            if (read != content.Length)
            {
                throw Fail($"file shrank while being read: expected {content.Length} bytes, got {read}");
            }

            return content;
        }

        using var memory = new MemoryStream();
        var chunk = new byte[BufferSize];
        int got;
        while ((got = ReadUpTo(chunk)) > 0)
        {
            memory.Write(chunk, 0, got);
        }

        return memory.ToArray();
    }

    public DatasetFormatException Fail(string problem, Exception? inner = null) => new(Path, problem, inner);

    public void Dispose()
    {
        if (!ReferenceEquals(_stream, _file))
        {
            _stream.Dispose();
        }

        _file.Dispose();
    }
}
