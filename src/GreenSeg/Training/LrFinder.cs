using GreenSeg.Common;
using GreenSeg.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <summary>Range-test settings (defaults after Smith 2017 and fastai).</summary>
public sealed record LrFinderOptions
{
    public double MinLearningRate { get; init; } = 1e-7;
    public double MaxLearningRate { get; init; } = 10;
    /// <summary>Steps of the exponential sweep from min to max (one batch each).</summary>
    public int Steps { get; init; } = 100;
    /// <summary>Exponential smoothing of the loss (bias-corrected), used online to stop on divergence.</summary>
    public double SmoothingBeta { get; init; } = 0.98;
    /// <summary>
    /// Odd window of the centred moving mean the suggestion is read from. The exponential average lags
    /// the loss by about 1/(1-beta) steps, a decade of rate or more in a short sweep, which moves its
    /// steepest descent to rates where the raw loss has already bottomed out; a centred mean has no lag.
    /// </summary>
    public int CentredWindow { get; init; } = 7;
    /// <summary>Stop once the smoothed loss exceeds this multiple of the best smoothed loss.</summary>
    public double DivergenceFactor { get; init; } = 4;
    /// <summary>Points left out of the steepest-slope search at the start (smoothing warm-up) and at the end (divergence).</summary>
    public int SkipStart { get; init; } = 10;
    public int SkipEnd { get; init; } = 5;
}

/// <summary>The sweep: learning rates tried, raw, exponentially smoothed and centred-mean losses, and the
/// suggested rate: the steepest descent of the centred mean (null when it never fell steeply enough to
/// tell, e.g. too few points before divergence).</summary>
public sealed record LrFinderResult(IReadOnlyList<double> LearningRates, IReadOnlyList<double> Losses,
    IReadOnlyList<double> SmoothedLosses, IReadOnlyList<double> CentredLosses, double? Suggestion, bool Diverged)
{
    /// <summary>Writes the curve as a PNG (log-scale rate axis, suggestion marked), atomically.</summary>
    public void SavePlot(string path, int width = 800, int height = 500)
    {
        var plot = new ScottPlot.Plot();
        double[] logRates = LearningRates.Select(Math.Log10).ToArray();
        plot.Add.ScatterLine(logRates, Losses.ToArray()).LegendText = "loss";
        plot.Add.ScatterLine(logRates, SmoothedLosses.ToArray()).LegendText = "smoothed loss (divergence test)";
        plot.Add.ScatterLine(logRates, CentredLosses.ToArray()).LegendText = "centred mean (suggestion)";
        if (Suggestion is double suggestion)
            plot.Add.VerticalLine(Math.Log10(suggestion)).LegendText = $"suggestion {suggestion:g3}";
        // ScottPlot 5 draws log axes as log10 data with decade ticks labelled by their power of ten.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            LabelFormatter = exponent => Math.Pow(10, exponent).ToString("g3", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (SmoothedLosses.Count > 0)
        {
            // The diverging tail would flatten the interesting part of the curve.
            double low = Math.Min(Losses.Min(), SmoothedLosses.Min());
            double high = Math.Max(SmoothedLosses[0], Losses[0]);
            if (high > low) plot.Axes.SetLimitsY(low - 0.05 * (high - low), high + 0.25 * (high - low));
        }
        plot.Title("Learning-rate range test");
        plot.XLabel("learning rate (log scale)");
        plot.YLabel("training loss");
        plot.ShowLegend(ScottPlot.Edge.Bottom);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
    }
}

/// <summary>
/// Learning-rate range test (Smith 2017): train with an exponentially growing rate from min to max, one batch
/// per rate, smooth the loss, stop when it diverges, and suggest the rate where the smoothed loss falls
/// fastest against log(lr). The model's weights and buffers and the optimizer's state (moments, rate, betas)
/// are restored afterwards, bit for bit, so training starts as if the test had never run.
/// </summary>
public static class LrFinder
{
    /// <param name="batchLoss">Computes the loss of the next training batch (forward pass only; the finder
    /// runs zero_grad, backward and the optimizer step, each step inside its own dispose scope).</param>
    public static LrFinderResult Run(nn.Module model, OptimizerHelper optimizer, Func<Tensor> batchLoss, LrFinderOptions? options = null)
    {
        options ??= new LrFinderOptions();
        Validate(options);
        using var snapshot = TrainingSnapshot.Take(model, optimizer);
        return Sweep(optimizer, batchLoss, options);
    }

    private static LrFinderResult Sweep(OptimizerHelper optimizer, Func<Tensor> batchLoss, LrFinderOptions options)
    {
        var rates = new List<double>();
        var losses = new List<double>();
        var smoothed = new List<double>();
        double ratio = options.MaxLearningRate / options.MinLearningRate;
        double average = 0, best = double.PositiveInfinity;
        bool diverged = false;
        for (int i = 0; i < options.Steps; i++)
        {
            double rate = options.MinLearningRate * Math.Pow(ratio, options.Steps == 1 ? 0 : (double)i / (options.Steps - 1));
            OptimizerLearningRate.SetCurrent(optimizer, rate);
            double loss;
            using (torch.NewDisposeScope())
            {
                optimizer.zero_grad();
                var lossTensor = batchLoss();
                lossTensor.backward();
                optimizer.step();
                loss = lossTensor.ToDouble();
            }
            if (!double.IsFinite(loss))
            {
                diverged = true;
                break;
            }
            average = options.SmoothingBeta * average + (1 - options.SmoothingBeta) * loss;
            double smooth = average / (1 - Math.Pow(options.SmoothingBeta, i + 1));
            rates.Add(rate);
            losses.Add(loss);
            smoothed.Add(smooth);
            best = Math.Min(best, smooth);
            if (smooth > options.DivergenceFactor * best)
            {
                diverged = true;
                break;
            }
        }
        var centred = CentredMean(losses, options.CentredWindow);
        return new LrFinderResult(rates, losses, smoothed, centred, SteepestDescent(rates, centred, options.SkipStart, options.SkipEnd), diverged);
    }

    /// <summary>Mean of each point's window (narrower at the ends, so it stays centred).</summary>
    internal static double[] CentredMean(IReadOnlyList<double> values, int window)
    {
        int half = Math.Max(0, window / 2);
        var means = new double[values.Count];
        for (int i = 0; i < values.Count; i++)
        {
            int reach = Math.Min(half, Math.Min(i, values.Count - 1 - i));
            double sum = 0;
            for (int j = i - reach; j <= i + reach; j++) sum += values[j];
            means[i] = sum / (2 * reach + 1);
        }
        return means;
    }

    /// <summary>
    /// The rate at the most negative slope d(smoothed)/d(log10 lr) within [skipStart, count - skipEnd),
    /// cut at the curve's lowest point: past it training has become unstable, and a fall there is a
    /// recovery from a spike, not learning (seen on the real data: a drop after a spike at 0.1 beat the
    /// true descent at 3e-3). Central differences inside, one-sided at the window's edges; null with
    /// fewer than 3 points or no negative slope.
    /// </summary>
    internal static double? SteepestDescent(IReadOnlyList<double> rates, IReadOnlyList<double> smoothed, int skipStart, int skipEnd)
    {
        int start = skipStart, end = smoothed.Count - skipEnd;
        if (end - start < 3) return null;
        int lowest = start;
        for (int i = start; i < end; i++)
            if (smoothed[i] < smoothed[lowest]) lowest = i;
        end = Math.Max(lowest + 1, start + 3);
        double[] x = rates.Select(Math.Log10).ToArray();
        int steepest = -1;
        double steepestSlope = 0;
        for (int i = start; i < end; i++)
        {
            int lo = Math.Max(i - 1, start), hi = Math.Min(i + 1, end - 1);
            double slope = (smoothed[hi] - smoothed[lo]) / (x[hi] - x[lo]);
            if (slope < steepestSlope)
            {
                steepestSlope = slope;
                steepest = i;
            }
        }
        return steepest < 0 ? null : rates[steepest];
    }

    private static void Validate(LrFinderOptions options)
    {
        if (!(options.MinLearningRate > 0 && options.MaxLearningRate > options.MinLearningRate))
            throw new GreenSegException($"LR finder: need 0 < min rate < max rate, got {options.MinLearningRate} and {options.MaxLearningRate}");
        if (options.Steps < 2) throw new GreenSegException($"LR finder: need at least 2 steps, got {options.Steps}");
        if (!(options.SmoothingBeta >= 0 && options.SmoothingBeta < 1)) throw new GreenSegException($"LR finder: smoothing beta must lie in [0, 1), got {options.SmoothingBeta}");
        if (!(options.DivergenceFactor > 1)) throw new GreenSegException($"LR finder: divergence factor must be > 1, got {options.DivergenceFactor}");
        if (options.SkipStart < 0 || options.SkipEnd < 0) throw new GreenSegException("LR finder: skipped points must be >= 0");
        if (options.CentredWindow < 1 || options.CentredWindow % 2 == 0) throw new GreenSegException($"LR finder: the centred window must be odd and positive, got {options.CentredWindow}");
    }
}
