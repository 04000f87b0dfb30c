using System.Runtime.Serialization;

namespace GreenSeg.Inference;

/// <summary>
/// Test-time augmentation: which mirrored copies of each slice the network also segments, their probabilities mapped
/// back and averaged. Training flips slices both ways at random, so every mirror is a slice as the network learnt them.
/// Cross-validation plans store it as its number: new members go last.
/// </summary>
public enum TestTimeAugmentation
{
    /// <summary>The slice as prepared: one network pass.</summary>
    [EnumMember(Value = "none")] None,
    /// <summary>Also the left-right mirror: two passes.</summary>
    [EnumMember(Value = "left-right")] LeftRight,
    /// <summary>Also the left-right, the up-down and the both-ways mirror (a half turn): four passes.</summary>
    [EnumMember(Value = "flips")] Flips,
}

/// <summary>One mirroring of a batch of square planes: reversed rows (left-right) and/or reversed row order (up-down).</summary>
public readonly record struct Mirror(bool LeftRight, bool UpDown)
{
    public bool IsIdentity => !LeftRight && !UpDown;

    /// <summary>
    /// The planes of an N x size x size batch (row major) mirrored into a new array; the identity returns the array itself.
    /// A mirror is its own inverse.
    /// </summary>
    public float[] Apply(float[] planes, int size)
    {
        if (IsIdentity) return planes;
        if (size < 1 || planes.Length % (size * size) != 0)
            throw new ArgumentException($"{planes.Length} values are not whole {size}x{size} planes", nameof(planes));
        var mirrored = new float[planes.Length];
        int pixels = size * size;
        for (int plane = 0; plane < planes.Length; plane += pixels)
            for (int y = 0; y < size; y++)
            {
                var from = planes.AsSpan(plane + (UpDown ? size - 1 - y : y) * size, size);
                var to = mirrored.AsSpan(plane + y * size, size);
                from.CopyTo(to);
                if (LeftRight) to.Reverse();
            }
        return mirrored;
    }

    /// <summary>The tensor dimensions an N x C x H x W batch is flipped along (torch's <c>flip</c>): W for left-right, H for up-down.</summary>
    public long[] TensorDimensions() => (LeftRight, UpDown) switch
    {
        (true, true) => [2, 3],
        (true, false) => [3],
        (false, true) => [2],
        _ => [],
    };
}

public static class TestTimeAugmentations
{
    private static readonly Mirror[] Identity = [new(false, false)];
    private static readonly Mirror[] LeftRight = [new(false, false), new(true, false)];
    private static readonly Mirror[] Flips = [new(false, false), new(true, false), new(false, true), new(true, true)];

    /// <summary>The mirrors whose predictions are averaged, the identity first; as many network passes.</summary>
    public static IReadOnlyList<Mirror> Mirrors(this TestTimeAugmentation tta) => tta switch
    {
        TestTimeAugmentation.None => Identity,
        TestTimeAugmentation.LeftRight => LeftRight,
        TestTimeAugmentation.Flips => Flips,
        _ => throw new ArgumentOutOfRangeException(nameof(tta), tta, "unknown test-time augmentation"),
    };
}
