using Distributed.Model.Data;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Protocol;
using Distributed.Worker;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Tests.Training;

/// <summary>
/// Label smoothing, flip-averaged evaluation and the precision evaluation runs in, checked against their definitions
/// computed here by hand from the same replica and the same assembled batch (a different formula or an option that
/// does not reach the worker fails).
/// </summary>
public sealed class RecipeOptionTests
{
    private static readonly ModelSpec Model = new(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10);
    private static readonly DataSpec Data = new("synthetic", null, 0, false, TrainLimit: 64, TestLimit: 48);
    private const int Seed = 3;
    private static readonly int[] Samples = [0, 3, 7, 11, 20, 31, 40, 47];

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void A_training_shard_with_label_smoothing_reports_the_cross_entropy_against_the_smoothed_labels(double epsilon)
    {
        TorchRuntime.UseThreadsOnThisThread(1);
        var state = TrainedState();
        using var trainer = new ShardTrainer(new ConfigureWorker(Model, Data, Seed, LabelSmoothing: epsilon));
        var request = new WorkRequest(1, WorkKind.Train, 0, 0, 0, Samples, state);
        Assert.True(trainer.TryLoadWeights(request));
        var result = trainer.Run(request);

        using var scope = NewDisposeScope();
        using var replica = new FlatReplica(Model, Seed);
        replica.LoadState(state);
        replica.Model.train();
        var (images, labels) = Batch(PreparedData.Get(Data).Train, Samples);
        var logProbabilities = nn.functional.log_softmax(replica.Model.forward(images), 1);
        var trueClass = logProbabilities.gather(1, labels.unsqueeze(1)).squeeze(1);
        var perSample = -((1 - epsilon) * trueClass + epsilon * logProbabilities.mean([1L]));
        var expected = perSample.sum().item<float>();

        Assert.Equal(expected, result.LossSum, expected * 1e-5);
    }

    [Fact]
    public void Label_smoothing_changes_the_gradient_a_shard_returns()
    {
        TorchRuntime.UseThreadsOnThisThread(1);
        var state = TrainedState();
        float[] GradientWith(double epsilon)
        {
            using var trainer = new ShardTrainer(new ConfigureWorker(Model, Data, Seed, LabelSmoothing: epsilon));
            var request = new WorkRequest(1, WorkKind.Train, 0, 0, 0, Samples, state);
            Assert.True(trainer.TryLoadWeights(request));
            return trainer.Run(request).Buffer![..trainer.ParameterCount];
        }
        Assert.NotEqual(GradientWith(0), GradientWith(0.1));
    }

    [Fact]
    public void Flip_averaged_evaluation_scores_each_image_by_the_mean_logits_of_it_and_its_mirror_image()
    {
        TorchRuntime.UseThreadsOnThisThread(1);
        var state = TrainedState();
        var samples = Enumerable.Range(0, 48).ToArray();
        var plain = Evaluated(new ConfigureWorker(Model, Data, Seed), state, samples);
        var averaged = Evaluated(new ConfigureWorker(Model, Data, Seed, FlipAveragedEvaluation: true), state, samples);

        using var scope = NewDisposeScope();
        using var replica = EvaluationReplica(Model, state);
        using var noGrad = no_grad();
        var (images, labels) = Batch(PreparedData.Get(Data).Test, samples);
        var direct = replica.Model.forward(images);
        var mirrored = replica.Model.forward(images.flip(3));
        var mean = (direct + mirrored) / 2;
        int Correct(Tensor logits) => (int)logits.argmax(1).eq(labels).sum().item<long>();
        double Loss(Tensor logits) => nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();

        Assert.Equal(Correct(direct), plain.Correct);
        Assert.Equal(Loss(direct), plain.LossSum, Loss(direct) * 1e-5);
        Assert.Equal(Correct(mean), averaged.Correct);
        Assert.Equal(Loss(mean), averaged.LossSum, Loss(mean) * 1e-5);
        // The mirror view must matter on this data, or the checks above could not tell the two modes apart.
        Assert.NotEqual(Loss(direct), Loss(mean), 3);
    }

    /// <summary>
    /// Evaluation reports the accuracy of the fp32 weights whatever the workers train in: a bf16 or channels-last run
    /// evaluates in fp32 (with channels-last strides where the run has them), so its loss is the fp32 NCHW model's to
    /// rounding, while a bf16 forward pass would be visibly off.
    /// </summary>
    [Theory]
    [InlineData(Precision.BFloat16, true)]
    [InlineData(Precision.Float32, true)]
    [InlineData(Precision.BFloat16, false)]
    public void Evaluation_reports_the_fp32_models_accuracy_whatever_the_workers_compute_in(Precision precision, bool channelsLast)
    {
        TorchRuntime.UseThreadsOnThisThread(1);
        var state = TrainedState();
        var samples = Enumerable.Range(0, 48).ToArray();
        var evaluated = Evaluated(new ConfigureWorker(Model with { Precision = precision, ChannelsLast = channelsLast }, Data, Seed), state, samples);

        using var scope = NewDisposeScope();
        using var replica = EvaluationReplica(Model, state);
        using var noGrad = no_grad();
        var (images, labels) = Batch(PreparedData.Get(Data).Test, samples);
        double Loss(Tensor logits) => nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
        var fp32 = replica.Model.forward(images);
        using var bf16Replica = EvaluationReplica(Model with { Precision = Precision.BFloat16 }, state);
        using var bf16Net = new ComputeNet(bf16Replica);
        bf16Net.Model.eval();
        var bf16Loss = Loss(bf16Net.Forward(images));

        Assert.Equal((int)fp32.argmax(1).eq(labels).sum().item<long>(), evaluated.Correct);
        Assert.True(Math.Abs(evaluated.LossSum - Loss(fp32)) <= Loss(fp32) * 2e-6, $"evaluated loss {evaluated.LossSum:R} vs fp32 {Loss(fp32):R}");
        // bf16 must be distinguishable at that tolerance, or the check above could not tell fp32 from bf16 evaluation.
        Assert.True(Math.Abs(bf16Loss - Loss(fp32)) > Loss(fp32) * 1e-5, $"bf16 loss {bf16Loss:R} vs fp32 {Loss(fp32):R}");
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_worker_refuses_a_label_smoothing_outside_zero_to_one_naming_it(double epsilon)
    {
        var error = Assert.Throws<ArgumentException>(() => new ShardTrainer(new ConfigureWorker(Model, Data, Seed, LabelSmoothing: epsilon)));
        Assert.Contains("label smoothing", error.Message);
    }

    /// <summary>What a worker configured so reports for evaluating <paramref name="samples"/> of the test set on <paramref name="state"/>.</summary>
    private static WorkCompleted Evaluated(ConfigureWorker configuration, float[] state, int[] samples)
    {
        using var trainer = new ShardTrainer(configuration);
        var request = new WorkRequest(1, WorkKind.Evaluate, 0, 0, 0, samples, state);
        Assert.True(trainer.TryLoadWeights(request));
        return trainer.Run(request);
    }

    /// <summary>A replica holding <paramref name="state"/>, in evaluation mode.</summary>
    private static FlatReplica EvaluationReplica(ModelSpec spec, float[] state)
    {
        var replica = new FlatReplica(spec, Seed);
        replica.LoadState(state);
        replica.Model.eval();
        return replica;
    }

    /// <summary>Weights after a few plain SGD steps: at initialization the logits are nearly uniform, where smoothing barely shows.</summary>
    private static float[] TrainedState()
    {
        using var trainer = new ShardTrainer(new ConfigureWorker(Model, Data, Seed));
        var state = (float[])RunModel.Build(Model, Seed).InitialState.Clone();
        for (var step = 0; step < 5; step++)
        {
            var request = new WorkRequest(step + 1, WorkKind.Train, 0, 0, step, Enumerable.Range(0, 64).ToArray(), state);
            Assert.True(trainer.TryLoadWeights(request));
            var buffer = trainer.Run(request).Buffer!;
            for (var i = 0; i < trainer.ParameterCount; i++) state[i] -= 0.2f * buffer[i];
        }
        return state;
    }

    private static (Tensor Images, Tensor Labels) Batch(ImageDataset dataset, int[] indices)
    {
        var data = PreparedData.Get(Data);
        var assembler = new BatchAssembler(dataset, data.Normalization, Augmentation.None, Seed);
        var images = new float[indices.Length * dataset.SampleSize];
        var labels = new long[indices.Length];
        assembler.Fill(indices, 0, images, labels);
        return (tensor(images).view(indices.Length, dataset.Channels, dataset.Height, dataset.Width), tensor(labels));
    }
}
