using System.Text.RegularExpressions;

namespace GreenSeg.Data;

/// <summary>
/// How file names map to stacks, sequences and masks (documented in the README):
/// <list type="bullet">
/// <item>A 2D file named <c>&lt;stack&gt;_slice&lt;K&gt;</c> is slice K of stack &lt;stack&gt;; any other file is a stack of its own.</item>
/// <item>The sequence is the part of the stack name before the first underscore (<c>T2W_vol0005</c> → <c>T2W</c>).</item>
/// <item>A mask matches an image when its stem equals the image stem, or the image stem plus one of
/// <c>_mask</c>, <c>_seg</c>, <c>_label</c>, <c>_maskpred</c>.</item>
/// </list>
/// </summary>
public static partial class StackNaming
{
    public static readonly string[] MaskSuffixes = ["_mask", "_seg", "_label", "_maskpred"];

    /// <summary>ASCII digits only (\d also matches other scripts' digits), and few enough to fit an int.</summary>
    [GeneratedRegex(@"^(?<stack>.+?)_slice(?<index>[0-9]{1,9})$", RegexOptions.CultureInvariant)]
    private static partial Regex SlicePattern();

    public static (string Stack, int? SliceIndex) Parse(string stem)
    {
        var match = SlicePattern().Match(stem);
        return match.Success
            ? (match.Groups["stack"].Value, int.Parse(match.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture))
            : (stem, null);
    }

    public static string SequenceOf(string stack)
    {
        int underscore = stack.IndexOf('_');
        return underscore > 0 ? stack[..underscore] : stack;
    }

    /// <summary>The image stem a mask stem belongs to: the stem with one known suffix removed (or itself).</summary>
    public static string ImageStemOfMask(string maskStem)
    {
        foreach (string suffix in MaskSuffixes)
            if (maskStem.EndsWith(suffix, StringComparison.Ordinal)) return maskStem[..^suffix.Length];
        return maskStem;
    }
}
