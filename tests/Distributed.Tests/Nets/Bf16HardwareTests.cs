using Distributed.Model.Runtime;
using Distributed.Protocol;
using static Distributed.Model.Runtime.Bf16Hardware;

namespace Distributed.Tests.Nets;

public sealed class Bf16HardwareTests
{
    private const int AmxBf16 = 1 << 22;
    private const int Avx512Bf16 = 1 << 5;

    [Theory]
    [InlineData(0x10, 1, 0, 0, Capability.Emulated)]                    // AVX2-only (e.g. AMD EPYC Zen 3)
    [InlineData(0x10, 1, 0, Avx512Bf16, Capability.Native)]             // Zen 4/5, Cooper Lake
    [InlineData(0x20, 1, AmxBf16, Avx512Bf16, Capability.Native)]       // Sapphire Rapids and later
    [InlineData(0x20, 0, AmxBf16, 0, Capability.Native)]                // AMX without sub-leaf 1
    [InlineData(0x10, 0, 0, Avx512Bf16, Capability.Emulated)]           // no sub-leaf 1: its register is not a flag
    [InlineData(6, 0, AmxBf16, Avx512Bf16, Capability.Emulated)]        // no leaf 7 at all
    public void Cpuid_bits_decide_native_bf16(int maxLeaf, int maxSubLeaf, int edx, int sub1Eax, Capability expected) =>
        Assert.Equal(expected, FromCpuid(maxLeaf, maxSubLeaf, edx, sub1Eax));

    [Fact]
    public void Avx512_bf16_does_not_count_where_the_os_does_not_save_avx512_registers()
    {
        Assert.Equal(Capability.Emulated, FromCpuid(0x10, 1, 0, Avx512Bf16, avx512Usable: false));
        Assert.Equal(Capability.Native, FromCpuid(0x20, 1, AmxBf16, Avx512Bf16, avx512Usable: false));
    }

    [Fact]
    public void Only_bf16_on_a_cpu_that_emulates_it_is_warned_about()
    {
        Assert.Null(Warning(Precision.Float32, Capability.Emulated));
        Assert.Null(Warning(Precision.BFloat16, Capability.Native));
        Assert.Null(Warning(Precision.BFloat16, Capability.Unknown));
        var warning = Warning(Precision.BFloat16, Capability.Emulated);
        Assert.NotNull(warning);
        Assert.Contains("--precision fp32", warning);
        Assert.Contains("13×", warning);
    }

    /// <summary>The probe reads CPUID itself; the kernel's reading of the same bits is /proc/cpuinfo's flags.</summary>
    [Fact]
    public void The_probe_agrees_with_the_kernels_cpu_flags()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported)
        {
            Assert.Equal(Capability.Unknown, OnThisCpu);
            return;
        }
        if (!OperatingSystem.IsLinux()) return; // no /proc/cpuinfo to compare with
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var native = flags.Contains("avx512_bf16") || flags.Contains("amx_bf16");
        Assert.Equal(native ? Capability.Native : Capability.Emulated, OnThisCpu);
        Assert.Equal(native, Units != "none");
    }
}
