using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_reader_returns_the_dimensions_and_bytes_it_was_given(bool compressed)
    {
        var data = TestFiles.RandomBytes(2 * 3 * 4, seed: 7);
        string path = TestFiles.Write(_directory.File("images"), TestFiles.Idx(0x803, [2, 3, 4], data), compressed);

        var (dimensions, read) = IdxReader.ReadUnsignedBytes(path, expectedDimensions: 3);

        Assert.Equal([2, 3, 4], dimensions);
        Assert.Equal(data, read);
    }

    [Fact]
    public void Idx_reader_detects_gzip_by_its_magic_bytes_not_by_the_file_name()
    {
        var data = TestFiles.RandomBytes(6, seed: 8, maxExclusive: 10);
        var content = TestFiles.Idx(TestFiles.LabelsMagic, [6], data);
        string gzipWithoutSuffix = TestFiles.Write(_directory.File("labels"), content, compressed: true);
        string rawWithSuffix = TestFiles.Write(_directory.File("labels.gz"), content, compressed: false);

        Assert.Equal(data, IdxReader.ReadUnsignedBytes(gzipWithoutSuffix, 1).Data);
        Assert.Equal(data, IdxReader.ReadUnsignedBytes(rawWithSuffix, 1).Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_reader_names_the_file_and_both_magic_numbers_when_the_magic_is_wrong(bool compressed)
    {
        string path = TestFiles.Write(_directory.File("train-images-idx3-ubyte"),
            TestFiles.Idx(TestFiles.LabelsMagic, [3], [1, 2, 3]), compressed);

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 3));

        Assert.Equal(path, error.FilePath);
        Assert.Equal(
            $"{path}: wrong magic number 0x00000801, expected 0x00000803 (IDX3 unsigned-byte images)", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_reader_reports_expected_and_actual_bytes_when_the_payload_is_truncated(bool compressed)
    {
        var whole = TestFiles.Idx(TestFiles.ImagesMagic, [2, 28, 28], new byte[2 * 28 * 28]);
        string path = TestFiles.Write(_directory.File("images"), whole[..^100], compressed);

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 3));

        Assert.StartsWith(path + ": truncated", error.Message);
        Assert.Contains("2x28x28 = 1568", error.Message);
        Assert.Contains("holds 1468", error.Message);
        Assert.Equal(compressed, error.Message.Contains("after gzip decompression"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_reader_reports_expected_and_actual_bytes_when_the_header_is_truncated(bool compressed)
    {
        var whole = TestFiles.Idx(TestFiles.ImagesMagic, [2, 28, 28], []);
        string path = TestFiles.Write(_directory.File("images"), whole[..10], compressed);

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 3));

        Assert.StartsWith(path + ": truncated header: expected 16 bytes, got 10", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_reader_rejects_a_file_longer_than_its_header_says(bool compressed)
    {
        string path = TestFiles.Write(_directory.File("labels"),
            TestFiles.Idx(TestFiles.LabelsMagic, [3], [1, 2, 3, 4, 5]), compressed);

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 1));

        Assert.StartsWith(path + ": file is longer than its header says", error.Message);
        Assert.Contains("3 = 3 data bytes, file holds 5", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_reader_reports_an_empty_file(bool compressed)
    {
        string path = TestFiles.Write(_directory.File("labels"), [], compressed);

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 1));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("empty", error.Problem);
    }

    [Fact]
    public void Idx_reader_wraps_corrupt_gzip_data_with_the_file_path()
    {
        var gzip = TestFiles.Gzip(TestFiles.Idx(TestFiles.LabelsMagic, [1000], TestFiles.RandomBytes(1000, 9)));
        // Keep the gzip header (10 bytes) so the file is detected as gzip, then garble the deflate stream.
        for (int i = 10; i < gzip.Length; i++)
        {
            gzip[i] = 0xFF;
        }

        string path = _directory.File("labels.gz");
        File.WriteAllBytes(path, gzip);

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 1));

        Assert.StartsWith(path + ": corrupt gzip data", error.Message);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Fact]
    public void Idx_reader_reports_a_gzip_stream_cut_short_as_truncated_naming_the_file()
    {
        var gzip = TestFiles.Gzip(TestFiles.Idx(TestFiles.LabelsMagic, [5000], TestFiles.RandomBytes(5000, 10)));
        string path = _directory.File("labels.gz");
        File.WriteAllBytes(path, gzip[..(gzip.Length / 2)]);

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 1));

        Assert.Equal(path, error.FilePath);
        Assert.StartsWith("truncated: header says 5000 = 5000 data bytes, file holds ", error.Problem);
        Assert.EndsWith(" after gzip decompression", error.Problem);
    }

    [Fact]
    public void Idx_reader_names_a_missing_file()
    {
        string path = _directory.File("nothing-here");

        var error = Assert.Throws<DatasetFormatException>(() => IdxReader.ReadUnsignedBytes(path, 1));

        Assert.Equal($"{path}: file not found", error.Message);
    }
}
