using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Evaluation;
using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Benchmarks;

/// <summary>A timed kernel: its FLOPs per call and the median seconds of the timed calls.</summary>
public sealed record KernelTiming(string Kernel, string Mode, double Flops, IReadOnlyList<double> Seconds)
{
    public double MedianSeconds => Statistics.Median(Seconds);

    public double Gigaflops => Flops / MedianSeconds / 1e9;
}

/// <summary>
/// This machine's compute ceiling, measured in the same process as the training figures it is compared
/// with: a square matrix multiply (fp32 and bf16), and one 3x3 convolution layer in every compute mode
/// the models use (through <see cref="ComputeConv2d"/>, the layer they are built of).
/// </summary>
public static class ComputePeakBenchmark
{
    public static KernelTiming Matmul(ScalarType type, int n = 2048, int repeats = 3)
    {
        if (n < 1 || repeats < 1) throw new GreenSegException("benchmark: matrix size and repeats must be positive");
        using var scope = NewDisposeScope();
        using var generator = new Generator(1);
        var a = randn([n, n], generator: generator).to_type(type);
        var b = randn([n, n], generator: generator).to_type(type);
        var seconds = Time(() => matmul(a, b), repeats);
        return new KernelTiming($"matmul {n}x{n}", type == ScalarType.BFloat16 ? "bf16" : type == ScalarType.Float32 ? "fp32" : type.ToString(), 2.0 * n * n * n, seconds);
    }

    /// <summary>Forward of a channels→channels 3x3 convolution on batch x channels x size x size, in one compute mode.</summary>
    public static KernelTiming Convolution(ComputeSettings compute, int batch = 8, int channels = 64, int size = 128, int repeats = 3)
    {
        if (batch < 1 || channels < 1 || size < 1 || repeats < 1) throw new GreenSegException("benchmark: convolution shape and repeats must be positive");
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var layer = new ComputeConv2d(channels, channels, 3, bias: false);
        ComputeMode.Apply(layer, compute);
        var input = compute.PrepareInput(randn(batch, channels, size, size));
        long macs = layer.MultiplyAccumulates(input.shape, input.shape) * batch;
        using var noGrad = no_grad();
        var seconds = Time(() => layer.call(input), repeats);
        return new KernelTiming($"conv 3x3 {channels}->{channels}, {batch}x{size}x{size}", compute.ToString(), 2.0 * macs, seconds);
    }

    /// <summary>One untimed warm-up call, then the timed ones; each call's tensors die with its own scope.</summary>
    private static List<double> Time(Func<Tensor> kernel, int repeats)
    {
        var seconds = new List<double>(repeats);
        for (int i = 0; i <= repeats; i++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            kernel();
            clock.Stop();
            if (i > 0) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return seconds;
    }
}
