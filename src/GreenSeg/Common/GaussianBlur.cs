namespace GreenSeg.Common;

/// <summary>Separable in-place Gaussian blur of one slice, edges clamped.</summary>
internal static class GaussianBlur
{
    public static void Apply(Span<float> slice, int width, int height, float sigma)
    {
        int radius = Math.Max(1, (int)MathF.Ceiling(3f * sigma));
        Span<float> kernel = stackalloc float[2 * radius + 1];
        float sum = 0f;
        for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] = MathF.Exp(-0.5f * k * k / (sigma * sigma));
        for (int k = 0; k < kernel.Length; k++) kernel[k] /= sum;

        float[] line = new float[Math.Max(width, height)];
        for (int y = 0; y < height; y++)
        {
            Span<float> row = slice.Slice(y * width, width);
            row.CopyTo(line);
            for (int x = 0; x < width; x++)
            {
                float acc = 0f;
                for (int k = -radius; k <= radius; k++) acc += kernel[k + radius] * line[Math.Clamp(x + k, 0, width - 1)];
                row[x] = acc;
            }
        }
        for (int x = 0; x < width; x++)
        {
            for (int y = 0; y < height; y++) line[y] = slice[x + width * y];
            for (int y = 0; y < height; y++)
            {
                float acc = 0f;
                for (int k = -radius; k <= radius; k++) acc += kernel[k + radius] * line[Math.Clamp(y + k, 0, height - 1)];
                slice[x + width * y] = acc;
            }
        }
    }
}
