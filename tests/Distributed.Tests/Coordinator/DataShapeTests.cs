using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public sealed class DataShapeTests
{
    [Fact]
    public void A_worker_with_another_model_or_other_data_is_refused_with_the_reason()
    {
        var run = new DataShape(60_000, 10_000);
        Assert.Null(DataShape.Check(new WorkerConfigured("w", 10, 60_000, 10_000), 10, run));
        Assert.Null(DataShape.Check(new WorkerConfigured("w", 10, 500, 100), 10, null));
        Assert.Contains("11 state values, expected 10", DataShape.Check(new WorkerConfigured("w", 11, 60_000, 10_000), 10, run));
        Assert.Contains("500/10000 samples, the others 60000/10000", DataShape.Check(new WorkerConfigured("w", 10, 500, 10_000), 10, run));
        Assert.Contains("0 training samples", DataShape.Check(new WorkerConfigured("w", 10, 0, 10_000), 10, null));
    }
}
