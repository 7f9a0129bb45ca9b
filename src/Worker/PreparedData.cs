using System.Collections.Concurrent;
using Distributed.Model.Data;
using Distributed.Protocol;

namespace Distributed.Worker;

/// <summary>
/// A dataset opened for training: the two splits with the training set's normalization. Workers in one
/// process share one copy (the data is immutable), keyed by the <see cref="DataSpec"/>.
/// </summary>
public sealed class PreparedData
{
    private static readonly ConcurrentDictionary<DataSpec, Lazy<PreparedData>> Cache = new();

    private PreparedData(DataSpec spec)
    {
        var pair = DatasetCatalog.Load(spec.Name, spec.Path);
        Train = spec.TrainLimit > 0 && spec.TrainLimit < pair.Train.Count ? pair.Train.Take(spec.TrainLimit) : pair.Train;
        Test = spec.TestLimit > 0 && spec.TestLimit < pair.Test.Count ? pair.Test.Take(spec.TestLimit) : pair.Test;
        Normalization = PixelStatistics.FromDataset(Train);
        Augmentation = new Augmentation(spec.CropPadding, spec.HorizontalFlip);
        Fingerprint = DatasetFingerprint.Of(Train, Test);
    }

    /// <summary>What `--resume` compares: sizes and a hash of sampled bytes of both splits.</summary>
    public DatasetFingerprint Fingerprint { get; }

    public ImageDataset Train { get; }
    public ImageDataset Test { get; }
    public PixelStatistics Normalization { get; }
    public Augmentation Augmentation { get; }

    public static PreparedData Get(DataSpec spec)
    {
        var lazy = Cache.GetOrAdd(spec, s => new Lazy<PreparedData>(() => new PreparedData(s)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // A failed load (e.g. a missing file, fixed later) must not be cached forever.
            Cache.TryRemove(new KeyValuePair<DataSpec, Lazy<PreparedData>>(spec, lazy));
            throw;
        }
    }
}
