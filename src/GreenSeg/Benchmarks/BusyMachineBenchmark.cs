using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Models;
using GreenSeg.Training;
using GreenSeg.Training.Losses;
using GreenSeg.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Benchmarks;

public sealed record BusyMachineOptions
{
    public string Model { get; init; } = "unet";
    public int? ModelWidth { get; init; } = 16;
    public int Size { get; init; } = 128;
    public int BatchSize { get; init; } = 8;
    /// <summary>Timed training steps (and inference batches) per row, after warm-up.</summary>
    public int Steps { get; init; } = 8;
    /// <summary>Busy threads to run beside the work, each row one count: 0 (idle) up to this.</summary>
    public int MaxLoadThreads { get; init; } = Environment.ProcessorCount;
}

/// <summary>One row: how many cores were kept busy, how many libtorch threads worked, and the time per step.</summary>
public sealed record BusyMachineRow(int LoadThreads, int TorchThreads, double TrainingStepMs, double InferenceBatchMs);

/// <summary>
/// How training and inference degrade when other processes keep cores busy: the same training steps and
/// inference batches timed on an idle machine, then beside 1..N threads that spin (a steady foreign load),
/// each with libtorch using every core and with libtorch using only the cores left free.
/// </summary>
public static class BusyMachineBenchmark
{
    public static IReadOnlyList<BusyMachineRow> Run(BusyMachineOptions options, CancellationToken cancellationToken = default)
    {
        if (options.Steps < 1) throw new GreenSegException($"steps must be at least 1, got {options.Steps}");
        if (options.MaxLoadThreads < 0) throw new GreenSegException($"load threads must be >= 0, got {options.MaxLoadThreads}");
        int cores = Environment.ProcessorCount;
        int defaultThreads = torch.get_num_threads();
        var rows = new List<BusyMachineRow>();
        try
        {
            for (int load = 0; load <= options.MaxLoadThreads; load++)
            {
                // Every core, then (under load) only the cores the load leaves free.
                foreach (int threads in new[] { cores, Math.Max(1, cores - load) }.Distinct())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    torch.set_num_threads(threads);
                    using var busy = SpinningLoad.Start(load);
                    var (training, inference) = Time(options);
                    rows.Add(new BusyMachineRow(load, threads, training, inference));
                }
            }
        }
        finally
        {
            torch.set_num_threads(defaultThreads);
        }
        return rows;
    }

    private static (double TrainingStepMs, double InferenceBatchMs) Time(BusyMachineOptions options)
    {
        using var model = ModelRegistry.Create(options.Model, new ModelOptions { BaseFeatures = options.ModelWidth, Seed = 1 });
        var compute = new ComputeSettings(Precision.Fp32, ChannelsLast: true);
        ComputeMode.Apply(model, compute.Precision, compute.ChannelsLast);
        var loss = LossFactory.Create(LossKind.DiceBce);
        var optimizer = OptimizerFactory.Create(OptimizerKind.Adam, model.parameters(), new OptimizerSettings { LearningRate = 1e-3 });
        int pixels = options.Size * options.Size, count = options.BatchSize;
        var random = new DeterministicRandom(7);
        var images = new float[count * pixels];
        var masks = new float[count * pixels];
        for (int i = 0; i < images.Length; i++)
        {
            images[i] = (float)random.NextGaussian();
            masks[i] = random.Chance(0.1) ? 1 : 0;
        }
        var batch = new HostBatch(images, masks, count, options.Size);

        var parts = new TrainingParts(model, compute, loss, optimizer, CPU);
        TrainingStep.Run(parts, batch);
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < options.Steps; s++) TrainingStep.Run(parts, batch);
        double trainingMs = clock.Elapsed.TotalMilliseconds / options.Steps;

        model.eval();
        void Infer()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            _ = model.call(compute.PrepareInput(tensor(images, [count, 1, options.Size, options.Size]))).sum().item<float>();
        }
        Infer();
        clock.Restart();
        for (int s = 0; s < options.Steps; s++) Infer();
        double inferenceMs = clock.Elapsed.TotalMilliseconds / options.Steps;
        optimizer.Dispose();
        return (trainingMs, inferenceMs);
    }

    /// <summary>Threads that keep cores busy with arithmetic until disposed: the steady load of another process.</summary>
    private sealed class SpinningLoad : IDisposable
    {
        private volatile bool _stop;
        private readonly List<Thread> _threads = [];

        public static SpinningLoad Start(int threads)
        {
            var load = new SpinningLoad();
            for (int t = 0; t < threads; t++)
            {
                var thread = new Thread(load.Spin) { IsBackground = true, Name = $"busy-load-{t}" };
                load._threads.Add(thread);
                thread.Start();
            }
            if (threads > 0) Thread.Sleep(200); // let the load settle on its cores
            return load;
        }

        private void Spin()
        {
            double x = 1;
            while (!_stop) x = Math.Sqrt(x + 1.0);
            GC.KeepAlive(x);
        }

        public void Dispose()
        {
            _stop = true;
            foreach (var thread in _threads) thread.Join();
        }
    }
}
