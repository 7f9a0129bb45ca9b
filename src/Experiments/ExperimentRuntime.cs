using TorchSharp;

namespace Distributed.Experiments;

/// <summary>Process-wide libtorch settings every experiment sets before its first tensor.</summary>
public static class ExperimentRuntime
{
    /// <summary>
    /// Pins the intra-op thread count (TorchSharp's default depends on the host, and results are only
    /// bit-reproducible for a fixed count) and seeds the global generator, which module constructors use for
    /// their default initialisation before the experiments overwrite it from their own seeded generators.
    /// </summary>
    public static void Configure(int threads, int seed)
    {
        torch.set_num_threads(threads);
        torch.manual_seed(seed);
    }
}
