using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Benchmarks;

/// <summary>How to time the models: batch of Size x Size single-channel slices, warm-up steps excluded.</summary>
public sealed record ModelSpeedOptions
{
    public int Batch { get; init; } = 8;
    public int Steps { get; init; } = 5;
    public int WarmupSteps { get; init; } = 2;
    public int Size { get; init; } = 256;
    public int Seed { get; init; } = 0;

    internal void Validate()
    {
        if (Batch <= 0) throw new GreenSegException($"benchmark: batch must be positive, got {Batch}");
        if (Steps <= 0) throw new GreenSegException($"benchmark: steps must be positive, got {Steps}");
        if (WarmupSteps < 0) throw new GreenSegException($"benchmark: warm-up steps must be >= 0, got {WarmupSteps}");
        if (Size <= 0) throw new GreenSegException($"benchmark: size must be positive, got {Size}");
    }
}

/// <summary>Forward + backward timing of one model in one compute mode.</summary>
public sealed record ModelSpeedMeasurement(ComputeSettings Compute, long Parameters, int Batch, IReadOnlyList<double> StepMilliseconds)
{
    public double MedianStepMilliseconds
    {
        get
        {
            var sorted = StepMilliseconds.Order().ToArray();
            int mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    public double MillisecondsPerSlice => MedianStepMilliseconds / Batch;
}

/// <summary>One model timed in the reference mode (fp32/NCHW) and the fast mode (bf16 compute, channels-last).</summary>
public sealed record ModelSpeedResult(string Model, long Parameters, ModelSpeedMeasurement Reference, ModelSpeedMeasurement Fast)
{
    public double Speedup => Reference.MillisecondsPerSlice / Fast.MillisecondsPerSlice;
}

/// <summary>
/// Times forward + loss + backward (no optimizer step) of each model on random slices, in fp32/NCHW and
/// in bf16-compute/channels-last, same weights and data for both.
/// </summary>
public static class ModelSpeedBenchmark
{
    public static ModelSpeedResult Run(string model, ModelSpeedOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var reference = Measure(model, ComputeSettings.Reference, options, cancellationToken);
        var fast = Measure(model, ComputeSettings.Fast, options, cancellationToken);
        return new ModelSpeedResult(ModelRegistry.Describe(model).Name, reference.Parameters, reference, fast);
    }

    public static ModelSpeedMeasurement Measure(string model, ComputeSettings compute, ModelSpeedOptions options,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        using var network = ModelRegistry.Create(model, new ModelOptions { Seed = options.Seed });
        network.CheckInputShape([options.Batch, network.InChannels, options.Size, options.Size]);
        network.train();
        ComputeMode.Apply(network, compute);

        using var data = NewDisposeScope();
        using var generator = new Generator(unchecked((ulong)options.Seed), CPU);
        var input = compute.PrepareInput(randn([options.Batch, network.InChannels, options.Size, options.Size], generator: generator));
        var target = (rand([options.Batch, network.OutChannels, options.Size, options.Size], generator: generator) > 0.5)
            .to(ScalarType.Float32);

        var timings = new List<double>(options.Steps);
        for (int step = 0; step < options.WarmupSteps + options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                var logits = network.call(input);
                var loss = nn.functional.binary_cross_entropy_with_logits(logits, target);
                loss.backward();
                network.zero_grad();
            }
            clock.Stop();
            if (step >= options.WarmupSteps) timings.Add(clock.Elapsed.TotalMilliseconds);
        }
        return new ModelSpeedMeasurement(compute, network.ParameterCount(), options.Batch, timings);
    }
}
