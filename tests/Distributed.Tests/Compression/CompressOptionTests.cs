using Distributed.Cli.Commands;
using Distributed.Protocol;

namespace Distributed.Tests.Compression;

/// <summary>`train --compress`: none by default, the two 16-bit formats by name, anything else refused by name.</summary>
public sealed class CompressOptionTests
{
    [Theory]
    [InlineData(new string[0], GradientCompression.None)]
    [InlineData(new[] { "--compress", "none" }, GradientCompression.None)]
    [InlineData(new[] { "--compress", "fp16" }, GradientCompression.Float16)]
    [InlineData(new[] { "--compress", "BF16" }, GradientCompression.BFloat16)]
    public void Compress_names_how_workers_round_their_gradients(string[] arguments, GradientCompression expected) =>
        Assert.Equal(expected, TrainCommand.Parse(arguments).Compression);

    [Theory]
    [InlineData("fp8")]
    [InlineData("half")]
    [InlineData("")]
    public void An_unknown_compression_is_refused_naming_the_value_and_the_choices(string value)
    {
        var error = Assert.Throws<ArgumentException>(() => TrainCommand.Parse("--compress", value));
        Assert.Contains($"--compress '{value}' is not one of: none, fp16, bf16", error.Message);
    }
}
