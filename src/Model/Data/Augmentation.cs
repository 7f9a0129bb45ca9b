namespace Distributed.Model.Data;

/// <summary>
/// Training-time augmentation applied by <see cref="BatchAssembler"/>: a random crop of the image zero-padded by
/// <see cref="CropPadding"/> pixels on every side (torchvision's RandomCrop(size, padding)), then an optional
/// random horizontal flip.
/// </summary>
public sealed record Augmentation(int CropPadding, bool HorizontalFlip)
{
    public int CropPadding { get; init; } = CropPadding >= 0
        ? CropPadding
        : throw new ArgumentOutOfRangeException(nameof(CropPadding), CropPadding, "Crop padding cannot be negative.");

    public static Augmentation None { get; } = new(0, false);

    /// <summary>The usual Fashion-MNIST/CIFAR recipe: crop with padding 2, flip half the images.</summary>
    public static Augmentation Standard { get; } = new(2, true);

    /// <summary>Random horizontal flip of half the images, no crop.</summary>
    public static Augmentation FlipOnly { get; } = new(0, true);
}
