using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Worker;
using Distributed.Model.Nets;

namespace Distributed.Tests.Health;

public sealed class HealthProbeSafetyTests
{
    private static readonly ConfigureWorker Configuration = new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
        new DataSpec("synthetic", null, 0, false, TrainLimit: 64, TestLimit: 16), Seed: 3);

    [Fact]
    public void A_probed_shard_of_one_sample_still_returns_its_gradient_exactly_as_an_unprobed_one()
    {
        TorchRuntime.UseThreadsOnThisThread(1);
        using var trainer = new ShardTrainer(Configuration);
        var state = RunModel.Build(Configuration.Model, 3).InitialState;

        var probedRequest = new WorkRequest(1, WorkKind.Train, 0, 0, 0, [5], state, ProbeHealth: true);
        Assert.True(trainer.TryLoadWeights(probedRequest));
        var probed = trainer.Run(probedRequest);
        var plainRequest = new WorkRequest(2, WorkKind.Train, 0, 0, 0, [5], state);
        Assert.True(trainer.TryLoadWeights(plainRequest));
        var plain = trainer.Run(plainRequest);

        Assert.Equal(plain.Buffer, probed.Buffer);
        Assert.Equal(plain.LossSum, probed.LossSum);
    }
}
