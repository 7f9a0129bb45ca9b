namespace Distributed.Model.Data;

public sealed record DatasetPair(ImageDataset Train, ImageDataset Test);
