using System.Runtime.Intrinsics.X86;
using Distributed.Protocol;

namespace Distributed.Model.Runtime;

/// <summary>
/// Whether this CPU computes bfloat16 natively. libtorch's convolutions (oneDNN) run bf16 on AVX512-BF16 or AMX-BF16
/// units; without them bf16 is emulated, and a bf16 worker step ran 13× slower than fp32 on an AVX2-only AMD EPYC
/// (Zen 3: 12 against 160 img per CPU-second; PyTorch 1.13 on the same machine 14× slower, so this is libtorch's, not
/// ours). `--precision bf16` is for CPUs that have the units, and a run elsewhere should say so rather than crawl.
/// </summary>
public static class Bf16Hardware
{
    /// <summary>What the CPU says; <see cref="Capability.Unknown"/> off x86, where .NET offers no way to ask.</summary>
    public enum Capability { Native, Emulated, Unknown }

    /// <summary>The measurement behind <see cref="Warning"/> (bench/README.md, "bf16 on a CPU without bf16 units").</summary>
    public const string Measured = "a bf16 worker step ran 13× slower than fp32 on an AVX2-only AMD EPYC";

    private static readonly Lazy<(Capability Capability, string Units)> Probed = new(Probe);

    /// <summary>This CPU's bf16 support.</summary>
    public static Capability OnThisCpu => Probed.Value.Capability;

    /// <summary>The bf16 units this CPU has, e.g. "AVX512-BF16, AMX-BF16", or why there are none.</summary>
    public static string Units => Probed.Value.Units;

    /// <summary>
    /// From CPUID leaf 7: AVX512-BF16 is sub-leaf 1 EAX bit 5, AMX-BF16 sub-leaf 0 EDX bit 22. AVX512-BF16 counts only
    /// where the OS saves AVX-512 registers (<paramref name="avx512Usable"/>: .NET's Avx512F.IsSupported checks that).
    /// </summary>
    public static Capability FromCpuid(int maxLeaf, int leaf7MaxSubLeaf, int leaf7Edx, int leaf7Sub1Eax, bool avx512Usable = true)
    {
        if (maxLeaf < 7) return Capability.Emulated;
        return HasAmxBf16(leaf7Edx) || HasAvx512Bf16(leaf7MaxSubLeaf, leaf7Sub1Eax, avx512Usable) ? Capability.Native : Capability.Emulated;
    }

    private static bool HasAmxBf16(int leaf7Edx) => (leaf7Edx & (1 << 22)) != 0;

    private static bool HasAvx512Bf16(int leaf7MaxSubLeaf, int leaf7Sub1Eax, bool avx512Usable) =>
        avx512Usable && leaf7MaxSubLeaf >= 1 && (leaf7Sub1Eax & (1 << 5)) != 0;

    /// <summary>What an operator should read before a run computes in <paramref name="precision"/> on such a CPU; null when nothing.</summary>
    public static string? Warning(Precision precision, Capability support) =>
        precision == Precision.BFloat16 && support == Capability.Emulated
            ? $"--precision bf16 on a CPU without AVX512-BF16 or AMX-BF16: libtorch emulates bfloat16 here ({Measured}, " +
              "bench/README.md); use --precision fp32 on this machine"
            : null;

    /// <summary><see cref="Warning(Precision, Capability)"/> for this CPU.</summary>
    public static string? Warning(Precision precision) => Warning(precision, OnThisCpu);

    private static (Capability, string) Probe()
    {
        if (!X86Base.IsSupported) return (Capability.Unknown, "not an x86 CPU: bf16 support not detected");
        var maxLeaf = X86Base.CpuId(0, 0).Eax;
        if (maxLeaf < 7) return (Capability.Emulated, "none (CPUID has no leaf 7)");
        var (leaf7MaxSubLeaf, _, _, edx) = X86Base.CpuId(7, 0);
        var sub1Eax = leaf7MaxSubLeaf >= 1 ? X86Base.CpuId(7, 1).Eax : 0;
        var support = FromCpuid(maxLeaf, leaf7MaxSubLeaf, edx, sub1Eax, Avx512F.IsSupported);
        var units = new List<string>();
        if (HasAvx512Bf16(leaf7MaxSubLeaf, sub1Eax, Avx512F.IsSupported)) units.Add("AVX512-BF16");
        if (HasAmxBf16(edx)) units.Add("AMX-BF16");
        return (support, units.Count > 0 ? string.Join(", ", units) : "none");
    }
}
