namespace GreenSeg.Models.Architectures;

/// <summary>
/// Attention U-Net (Oktay et al., MIDL 2018): the U-Net with an additive attention gate on every skip,
/// gated by the upsampled decoder features; intermediate width half the skip's.
/// </summary>
public sealed class AttentionUNet(ModelOptions options) : UNet("attention-unet", options, attentionGates: true);
