using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Distributed;
using GreenSeg.Evaluation;
using GreenSeg.Models;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Benchmarks;

/// <summary>What <c>greenseg bench distributed</c> times: a network's training step at a per-rank batch, after warm-up steps.</summary>
public sealed record DistributedBenchmarkOptions
{
    public string Model { get; init; } = "unet";
    public int Width { get; init; } = 16;
    public int Size { get; init; } = 128;
    public int BatchPerRank { get; init; } = 4;
    public int Steps { get; init; } = 8;
    public int WarmupSteps { get; init; } = 2;
    /// <summary>Local SGD's K for the row that averages weights every K steps.</summary>
    public int SyncEvery { get; init; } = 4;
    public int Seed { get; init; } = 1;
}

/// <summary>
/// One way of training measured: wall seconds per step on rank 0, of which in collectives (compression and waiting for the
/// other ranks included), bytes each rank sent, and the seconds encoding and decoding a step's gradients take alone.
/// </summary>
public sealed record StepTiming(string Label, int Ranks, int ThreadsPerRank, int GlobalBatch, double SecondsPerStep, double CommunicationSecondsPerStep,
    double MegabytesSentPerStep, double CodecSecondsPerStep = 0)
{
    public double StepsPerSecond => 1 / SecondsPerStep;
    public double SlicesPerSecond => GlobalBatch / SecondsPerStep;
    public double CommunicationShare => CommunicationSecondsPerStep / SecondsPerStep;
}

/// <summary>An fp32 MPI_Allreduce of so many bytes: median seconds; bus bandwidth as for a ring (each rank sends 2(R-1)/R of the buffer).</summary>
public sealed record AllreduceTiming(long Bytes, int Ranks, double Seconds)
{
    public double BusGigabytesPerSecond => 2.0 * (Ranks - 1) / Ranks * Bytes / Seconds / 1e9;
}

/// <summary>Everything the ranks measured, written by rank 0 for the command that started them.</summary>
public sealed record DistributedMeasurement(string Model, long Parameters, int Ranks, IReadOnlyList<StepTiming> Steps, IReadOnlyList<AllreduceTiming> Allreduce, double LatencySeconds)
{
    /// <summary>The link's bandwidth: the best of the sizes timed (a busy core slows single timings, never speeds them up).</summary>
    public double BestBusBytesPerSecond => Allreduce.Max(a => a.BusGigabytesPerSecond) * 1e9;
}

/// <summary>Projected step of R ranks, one per node, each with the measured per-rank batch and compute: weak scaling.</summary>
public sealed record ProjectedStep(int Ranks, int GlobalBatch, double ComputeSeconds, IReadOnlyList<(string Label, double Seconds)> Steps);

public static class DistributedBenchmark
{
    /// <summary>Steps of one process at the global batch of <paramref name="ranks"/> ranks, with the threads this process has.</summary>
    public static StepTiming MeasureSingleProcess(DistributedBenchmarkOptions options, int ranks)
    {
        var (model, optimizer, input, target) = Setup(options, options.BatchPerRank * ranks, rank: 0);
        using (model)
        using (optimizer)
        {
            double seconds = TimeSteps(options, model, optimizer, input, target, afterBackward: null);
            return new StepTiming("1 process", 1, torch.get_num_threads(), options.BatchPerRank * ranks, seconds, 0, 0);
        }
    }

    /// <summary>On every rank (under mpiexec): the same step with gradients averaged as fp32, bf16 and int8, and as local SGD; then Allreduce timings.</summary>
    public static DistributedMeasurement MeasureRanks(MpiCommunicator world, DistributedBenchmarkOptions options)
    {
        var settings = new (string Label, ParallelSection Parallel)[]
        {
            ("fp32 gradients", new ParallelSection { Distributed = DistributedMode.Mpi }),
            ("bf16 gradients", new ParallelSection { Distributed = DistributedMode.Mpi, GradCompression = GradCompression.Bf16 }),
            ("int8 gradients", new ParallelSection { Distributed = DistributedMode.Mpi, GradCompression = GradCompression.Int8 }),
            ($"local SGD, K = {options.SyncEvery}", new ParallelSection { Distributed = DistributedMode.Mpi, SyncEvery = options.SyncEvery }),
        };
        var steps = new List<StepTiming>();
        long parameters = 0;
        foreach (var (label, parallel) in settings)
        {
            var (model, optimizer, input, target) = Setup(options, options.BatchPerRank, world.Rank);
            using (model)
            using (optimizer)
            {
                parameters = model.ParameterCount();
                var hook = new DataParallelHook(world, parallel);
                hook.BroadcastFromRoot(model);
                TimeSpan communicationBefore = TimeSpan.Zero;
                long bytesBefore = 0;
                double seconds = TimeSteps(options, model, optimizer, input, target, hook.AfterBackward, onTimingStart: () =>
                {
                    world.Barrier();
                    communicationBefore = hook.CommunicationTime;
                    bytesBefore = hook.BytesSent;
                });
                steps.Add(new StepTiming(label, world.Size, torch.get_num_threads(), options.BatchPerRank * world.Size, seconds,
                    (hook.CommunicationTime - communicationBefore).TotalSeconds / options.Steps, (hook.BytesSent - bytesBefore) / 1e6 / options.Steps,
                    GradientCodec.For(parallel.GradCompression) is { } codec && parallel.SyncEvery == 1 ? TimeCodec(codec, parameters) : 0));
            }
        }
        var allreduce = new[] { 1 << 20, 4 << 20, 16 << 20 }.Select(bytes => TimeAllreduce(world, bytes)).ToList();
        return new DistributedMeasurement(options.Model, parameters, world.Size, steps, allreduce, TimeAllreduce(world, sizeof(double) * 1).Seconds);
    }

    /// <summary>
    /// Weak scaling to <paramref name="rankCounts"/>: each rank computes as the measured ranks did (fp32 step minus its
    /// collectives) and encodes and decodes as measured; each exchange costs the ring model 2(R-1)/R · payload / bandwidth
    /// + 2(R-1) · latency, the payload being the bytes a rank sent per step at the measured rank count. Waiting for a slower
    /// rank is left out: it is this machine's shared cores, not the algorithm.
    /// </summary>
    public static IReadOnlyList<ProjectedStep> Project(DistributedMeasurement measured, IReadOnlyList<int> rankCounts, double bandwidthBytesPerSecond, double latencySeconds)
    {
        int r0 = measured.Ranks;
        static double Ring(int ranks) => 2.0 * (ranks - 1) / ranks;
        var plain = measured.Steps[0];
        double compute = plain.SecondsPerStep - plain.CommunicationSecondsPerStep;
        var result = new List<ProjectedStep>();
        foreach (int ranks in rankCounts)
        {
            var steps = new List<(string, double)>();
            foreach (var step in measured.Steps)
            {
                double payload = step.MegabytesSentPerStep * 1e6 / Ring(r0);
                double exchange = Ring(ranks) * payload / bandwidthBytesPerSecond + 2 * (ranks - 1) * latencySeconds;
                steps.Add((step.Label, compute + step.CodecSecondsPerStep + exchange));
            }
            result.Add(new ProjectedStep(ranks, ranks * plain.GlobalBatch / r0, compute, steps));
        }
        return result;
    }

    /// <summary>Median seconds to encode a step's gradients once and decode them twice, as a rank of the compressed all-reduce does.</summary>
    private static double TimeCodec(GradientCodec codec, long parameters)
    {
        var values = new float[parameters];
        for (int i = 0; i < values.Length; i++) values[i] = MathF.Sin(i) * 1e-3f;
        var encoded = new byte[codec.EncodedBytes(values.Length)];
        var seconds = new List<double>();
        for (int repeat = 0; repeat < 5; repeat++)
        {
            var clock = Stopwatch.StartNew();
            codec.Encode(values, encoded);
            codec.DecodeAdd(encoded, values);
            codec.DecodeAdd(encoded, values);
            seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return Statistics.Median(seconds);
    }

    private static (SegmentationModel Model, optim.Optimizer Optimizer, Tensor Input, Tensor Target) Setup(DistributedBenchmarkOptions options, int batch, int rank)
    {
        var model = ModelRegistry.Create(options.Model, new ModelOptions { BaseFeatures = options.Width, Seed = options.Seed });
        model.CheckInputShape([batch, model.InChannels, options.Size, options.Size]);
        model.train();
        var optimizer = torch.optim.Adam(model.parameters(), 1e-3);
        var generator = new torch.Generator((ulong)(options.Seed + 1000 * rank), torch.CPU);
        var input = torch.randn([batch, model.InChannels, options.Size, options.Size], generator: generator);
        var target = (torch.rand([batch, model.OutChannels, options.Size, options.Size], generator: generator) > 0.5).to_type(ScalarType.Float32);
        return (model, optimizer, input, target);
    }

    /// <summary>Median wall seconds of the timed steps (forward, backward, the exchange, the optimizer step).</summary>
    private static double TimeSteps(DistributedBenchmarkOptions options, SegmentationModel model, optim.Optimizer optimizer, Tensor input, Tensor target,
        Action<SegmentationModel>? afterBackward, Action? onTimingStart = null)
    {
        var seconds = new List<double>();
        for (int step = 0; step < options.WarmupSteps + options.Steps; step++)
        {
            if (step == options.WarmupSteps) onTimingStart?.Invoke();
            var clock = Stopwatch.StartNew();
            using (torch.NewDisposeScope())
            {
                optimizer.zero_grad();
                nn.functional.binary_cross_entropy_with_logits(model.call(input), target).backward();
                afterBackward?.Invoke(model);
                optimizer.step();
            }
            if (step >= options.WarmupSteps) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return Statistics.Median(seconds);
    }

    private static AllreduceTiming TimeAllreduce(MpiCommunicator world, int bytes)
    {
        var values = new float[Math.Max(1, bytes / sizeof(float))];
        var seconds = new List<double>();
        for (int repeat = 0; repeat < 7; repeat++)
        {
            world.Barrier();
            var clock = Stopwatch.StartNew();
            world.AllreduceSum(values, values.Length);
            if (repeat > 0) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return new AllreduceTiming(bytes, world.Size, Statistics.Median(seconds));
    }
}
