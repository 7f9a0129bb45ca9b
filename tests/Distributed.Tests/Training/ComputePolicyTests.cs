using Distributed.Cli.Commands;
using Distributed.Model.Runtime;
using Distributed.Protocol;

namespace Distributed.Tests.Training;

public sealed class ComputePolicyTests
{
    [Theory]
    [InlineData(Bf16Hardware.Capability.Native, Precision.BFloat16, true)]
    [InlineData(Bf16Hardware.Capability.Emulated, Precision.Float32, false)]
    [InlineData(Bf16Hardware.Capability.Unknown, Precision.Float32, false)]
    public void Auto_is_bf16_with_channels_last_only_where_the_CPU_has_bf16_units(
        Bf16Hardware.Capability cpu, Precision expected, bool expectedChannelsLast)
    {
        Assert.Equal((expected, expectedChannelsLast), ComputePolicy.Resolve("auto", null, cpu));
        Assert.Equal((expected, expectedChannelsLast), ComputePolicy.Resolve("AUTO", null, cpu));
    }

    [Theory]
    [InlineData(Bf16Hardware.Capability.Native)]
    [InlineData(Bf16Hardware.Capability.Emulated)]
    public void A_precision_or_layout_given_on_the_command_line_wins_over_the_CPU(Bf16Hardware.Capability cpu)
    {
        Assert.Equal((Precision.Float32, false), ComputePolicy.Resolve("fp32", null, cpu));
        Assert.Equal((Precision.BFloat16, true), ComputePolicy.Resolve("bf16", null, cpu));
        Assert.Equal((Precision.BFloat16, false), ComputePolicy.Resolve("bf16", false, cpu));
        Assert.Equal((Precision.Float32, true), ComputePolicy.Resolve("fp32", true, cpu));
    }

    [Fact]
    public void An_unknown_precision_is_refused_naming_the_value_and_the_choices()
    {
        var error = Assert.Throws<ArgumentException>(() => ComputePolicy.Resolve("fp16", null, Bf16Hardware.Capability.Native));
        Assert.Equal("--precision 'fp16' is not one of: auto, fp32, bf16", error.Message);
    }

    [Fact]
    public void The_header_line_says_why_when_the_choice_was_automatic()
    {
        Assert.Equal("Worker compute: bf16, channels-last (--precision auto: this CPU has AMX-BF16; --precision fp32 for fp32)",
            ComputePolicy.Describe(Precision.BFloat16, true, automatic: true, "AMX-BF16"));
        Assert.Equal("Worker compute: fp32 (--precision auto: this CPU has no bf16 units, bf16 would be emulated)",
            ComputePolicy.Describe(Precision.Float32, false, automatic: true, "none"));
        Assert.Equal("Worker compute: fp32, channels-last", ComputePolicy.Describe(Precision.Float32, true, automatic: false, "none"));
    }
}
