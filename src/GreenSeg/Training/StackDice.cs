namespace GreenSeg.Training;

/// <summary>
/// 3D Dice of one stack accumulated slice by slice. A stack with no brain in truth or prediction
/// scores 1 (both agree there is nothing); no brain in one of them scores 0.
/// </summary>
public sealed class StackDice
{
    private long _intersection, _predicted, _truth;

    public void Add(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> truth, float threshold = 0.5f)
    {
        for (int i = 0; i < probabilities.Length; i++)
        {
            bool p = probabilities[i] > threshold, t = truth[i] > 0.5f;
            if (p) _predicted++;
            if (t) _truth++;
            if (p && t) _intersection++;
        }
    }

    public double Value => _predicted + _truth == 0 ? 1.0 : 2.0 * _intersection / (_predicted + _truth);
}
