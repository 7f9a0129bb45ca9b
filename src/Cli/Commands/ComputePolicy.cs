using Distributed.Model.Runtime;
using Distributed.Protocol;

namespace Distributed.Cli.Commands;

/// <summary>
/// What workers compute in when the command line does not say. On a CPU with bf16 units (AVX512-BF16 or AMX-BF16)
/// bf16 with channels-last strides is the fastest pair measured: on a 2-core Xeon it ran 1.13–1.26× bf16 with NCHW
/// strides and 1.53–2.10× PyTorch DDP's fp32 (2.03× at the median of 5 interleaved rounds; bench/README.md,
/// "Channels-last, fixed"), and bf16 matched fp32's accuracy over 3 seeds. Without the units libtorch emulates bf16
/// 13× slower, so there it is fp32 with NCHW strides, exactly the computation fp32 runs always had. A value given on
/// the command line wins.
/// </summary>
public static class ComputePolicy
{
    public const string Auto = "auto";

    /// <param name="precision">--precision: auto, fp32 or bf16.</param>
    /// <param name="channelsLast">--channels-last, or null when not given: then on exactly when the precision is bf16.</param>
    /// <param name="cpu">This CPU's bf16 support (<see cref="Bf16Hardware.OnThisCpu"/>).</param>
    public static (Precision Precision, bool ChannelsLast) Resolve(string precision, bool? channelsLast, Bf16Hardware.Capability cpu)
    {
        var resolved = precision.ToLowerInvariant() switch
        {
            Auto => cpu == Bf16Hardware.Capability.Native ? Precision.BFloat16 : Precision.Float32,
            "fp32" => Precision.Float32,
            "bf16" => Precision.BFloat16,
            var other => throw new ArgumentException($"--precision '{other}' is not one of: auto, fp32, bf16"),
        };
        return (resolved, channelsLast ?? resolved == Precision.BFloat16);
    }

    /// <summary>One line for the run's header: what the workers compute in, and why when it was chosen here.</summary>
    public static string Describe(Precision precision, bool channelsLast, bool automatic, string units)
    {
        var compute = (precision == Precision.BFloat16 ? "bf16" : "fp32") + (channelsLast ? ", channels-last" : "");
        if (!automatic) return $"Worker compute: {compute}";
        return precision == Precision.BFloat16
            ? $"Worker compute: {compute} (--precision auto: this CPU has {units}; --precision fp32 for fp32)"
            : $"Worker compute: {compute} (--precision auto: this CPU has no bf16 units, bf16 would be emulated)";
    }
}
