using GreenSeg.Imaging;

namespace GreenSeg.Phantom;

/// <summary>The MRI sequences of the E2MIP fetal data; the name is the file prefix.</summary>
public enum PhantomSequence
{
    T2W,
    DWI,
    FMRI,
}

/// <summary>Relative signal (amniotic fluid about 1) of each tissue the phantom draws, for one sequence.</summary>
internal sealed record TissueContrast
{
    public required float Fat { get; init; }
    public required float Muscle { get; init; }
    public required float Maternal { get; init; }
    public required float MaternalTexture { get; init; }
    public required float BowelDark { get; init; }
    public required float BowelFluid { get; init; }
    public required float Bone { get; init; }
    public required float SpinalFluid { get; init; }
    public required float UterineWall { get; init; }
    public required float Placenta { get; init; }
    public required float AmnioticFluid { get; init; }
    public required float FetalBody { get; init; }
    public required float FetalLung { get; init; }
    public required float FetalLiver { get; init; }
    public required float Scalp { get; init; }
    public required float Skull { get; init; }
    public required float Csf { get; init; }
    public required float Cortex { get; init; }
    public required float WhiteMatter { get; init; }
    public required float WhiteMatterTexture { get; init; }
    public required float Subplate { get; init; }
    public required float DeepGrey { get; init; }
    public required float GerminalMatrix { get; init; }
    public required float Ventricle { get; init; }
    public required float Eye { get; init; }
}

/// <summary>What a stack of one sequence looks like: grid, spacing, slice thickness, noise, blur, contrast, storage.</summary>
internal sealed record SequenceProfile
{
    public required PhantomSequence Sequence { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required double MinSpacing { get; init; }
    public required double MaxSpacing { get; init; }
    public required double[] SliceThicknesses { get; init; }
    public required int MinSlices { get; init; }
    public required int MaxSlices { get; init; }
    /// <summary>Rician noise level relative to amniotic fluid.</summary>
    public required float NoiseSigma { get; init; }
    /// <summary>In-plane Gaussian blur (EPI point-spread), in pixels; 0 for none.</summary>
    public required float BlurSigmaPixels { get; init; }
    /// <summary>Log-amplitude of the multiplicative bias field.</summary>
    public required float BiasStrength { get; init; }
    /// <summary>Stored value of amniotic fluid, drawn per stack (scanners scale differently).</summary>
    public required double MinScale { get; init; }
    public required double MaxScale { get; init; }
    /// <summary>How the images are stored, as in the real data (masks are always uint8).</summary>
    public required NiftiDataType StoredType { get; init; }
    public required TissueContrast Contrast { get; init; }

    public static SequenceProfile For(PhantomSequence sequence) => sequence switch
    {
        PhantomSequence.T2W => T2W,
        PhantomSequence.DWI => Dwi,
        PhantomSequence.FMRI => Fmri,
        _ => throw new ArgumentOutOfRangeException(nameof(sequence), sequence, "unknown sequence"),
    };

    // Single-shot fast spin echo: sharp, bright fluid, dark cortex and skull, bright immature white matter.
    private static readonly SequenceProfile T2W = new()
    {
        Sequence = PhantomSequence.T2W, Width = 256, Height = 256, MinSpacing = 0.9, MaxSpacing = 1.1,
        SliceThicknesses = [2.5, 3.0, 3.0, 3.5], MinSlices = 20, MaxSlices = 40,
        NoiseSigma = 0.025f, BlurSigmaPixels = 0f, BiasStrength = 0.25f, MinScale = 600, MaxScale = 2000, StoredType = NiftiDataType.UInt16,
        Contrast = new TissueContrast
        {
            Fat = 0.75f, Muscle = 0.18f, Maternal = 0.28f, MaternalTexture = 0.12f, BowelDark = 0.07f, BowelFluid = 0.75f,
            Bone = 0.28f, SpinalFluid = 0.9f, UterineWall = 0.45f, Placenta = 0.55f, AmnioticFluid = 1f,
            FetalBody = 0.42f, FetalLung = 0.62f, FetalLiver = 0.28f, Scalp = 0.3f, Skull = 0.1f, Csf = 0.95f,
            Cortex = 0.28f, WhiteMatter = 0.55f, WhiteMatterTexture = 0.06f, Subplate = 0.72f, DeepGrey = 0.44f, GerminalMatrix = 0.34f,
            Ventricle = 0.97f, Eye = 0.9f,
        },
    };

    // Diffusion b0 echo-planar: coarse, noisy, fat suppressed, little contrast inside the head.
    private static readonly SequenceProfile Dwi = new()
    {
        Sequence = PhantomSequence.DWI, Width = 128, Height = 128, MinSpacing = 2.0, MaxSpacing = 2.35,
        SliceThicknesses = [3.0], MinSlices = 20, MaxSlices = 40,
        NoiseSigma = 0.09f, BlurSigmaPixels = 0.7f, BiasStrength = 0.3f, MinScale = 200, MaxScale = 1200, StoredType = NiftiDataType.Int32,
        Contrast = new TissueContrast
        {
            Fat = 0.12f, Muscle = 0.12f, Maternal = 0.22f, MaternalTexture = 0.08f, BowelDark = 0.05f, BowelFluid = 0.5f,
            Bone = 0.15f, SpinalFluid = 0.55f, UterineWall = 0.3f, Placenta = 0.5f, AmnioticFluid = 0.8f,
            FetalBody = 0.35f, FetalLung = 0.5f, FetalLiver = 0.25f, Scalp = 0.3f, Skull = 0.25f, Csf = 0.72f,
            Cortex = 0.55f, WhiteMatter = 0.6f, WhiteMatterTexture = 0.03f, Subplate = 0.62f, DeepGrey = 0.55f, GerminalMatrix = 0.55f,
            Ventricle = 0.7f, Eye = 0.65f,
        },
    };

    // BOLD echo-planar: 3 mm voxels, blurred, moderate noise, fluid still bright.
    private static readonly SequenceProfile Fmri = new()
    {
        Sequence = PhantomSequence.FMRI, Width = 100, Height = 100, MinSpacing = 3.0, MaxSpacing = 3.0,
        SliceThicknesses = [3.0], MinSlices = 20, MaxSlices = 40,
        NoiseSigma = 0.035f, BlurSigmaPixels = 1.0f, BiasStrength = 0.3f, MinScale = 400, MaxScale = 1200, StoredType = NiftiDataType.Int16,
        Contrast = new TissueContrast
        {
            Fat = 0.2f, Muscle = 0.2f, Maternal = 0.35f, MaternalTexture = 0.1f, BowelDark = 0.05f, BowelFluid = 0.7f,
            Bone = 0.2f, SpinalFluid = 0.8f, UterineWall = 0.45f, Placenta = 0.6f, AmnioticFluid = 1f,
            FetalBody = 0.45f, FetalLung = 0.6f, FetalLiver = 0.2f, Scalp = 0.35f, Skull = 0.2f, Csf = 0.9f,
            Cortex = 0.6f, WhiteMatter = 0.68f, WhiteMatterTexture = 0.03f, Subplate = 0.7f, DeepGrey = 0.6f, GerminalMatrix = 0.6f,
            Ventricle = 0.9f, Eye = 0.85f,
        },
    };
}
