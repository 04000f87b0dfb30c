using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GreenSeg.Benchmarks;
using GreenSeg.Common;
using GreenSeg.Distributed;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class BenchDistributedSettings : CommandSettings
{
    [CommandOption("--ranks <N>")] [Description("MPI ranks to start (mpiexec -n N), one libtorch thread each, against one process with N threads.")]
    [DefaultValue(2)]
    public int Ranks { get; init; } = 2;
    [CommandOption("-m|--model <NAME>")] [DefaultValue("unet")]
    public string Model { get; init; } = "unet";
    [CommandOption("--model-width <N>")] [DefaultValue(16)]
    public int Width { get; init; } = 16;
    [CommandOption("--size <PIXELS>")] [DefaultValue(128)]
    public int Size { get; init; } = 128;
    [CommandOption("-b|--batch-size <N>")] [Description("Slices per rank per step; the one process takes N times as many.")] [DefaultValue(4)]
    public int BatchSize { get; init; } = 4;
    [CommandOption("--steps <N>")] [Description("Timed steps per row, after 2 warm-up steps (median reported).")] [DefaultValue(8)]
    public int Steps { get; init; } = 8;
    [CommandOption("--sync-every <K>")] [Description("K of the local SGD row.")] [DefaultValue(4)]
    public int SyncEvery { get; init; } = 4;
    [CommandOption("--bandwidth-gbps <GB_PER_S>")] [Description("Network bandwidth of the cluster to project to, GB/s (default 1.25: 10 Gb Ethernet).")] [DefaultValue(1.25)]
    public double BandwidthGigabytes { get; init; } = 1.25;
    [CommandOption("--latency-us <MICROSECONDS>")] [Description("Per-message latency of that network (default 30 µs).")] [DefaultValue(30.0)]
    public double LatencyMicroseconds { get; init; } = 30;
    [CommandOption("--rank-output <FILE>", IsHidden = true)] [Description("Internal: run as one rank under mpiexec; rank 0 writes the measurement here.")]
    public string? RankOutput { get; init; }

    public override Spectre.Console.ValidationResult Validate() =>
        Ranks < 2 ? Spectre.Console.ValidationResult.Error("--ranks must be at least 2")
        : BatchSize < 1 || Steps < 1 || SyncEvery < 2 ? Spectre.Console.ValidationResult.Error("--batch-size and --steps must be at least 1, --sync-every at least 2")
        : BandwidthGigabytes > 0 && LatencyMicroseconds >= 0 ? Spectre.Console.ValidationResult.Success()
        : Spectre.Console.ValidationResult.Error("--bandwidth-gbps must be > 0 and --latency-us >= 0");

    public DistributedBenchmarkOptions Options => new() { Model = Model, Width = Width, Size = Size, BatchPerRank = BatchSize, Steps = Steps, SyncEvery = SyncEvery };
}

/// <summary>
/// greenseg bench distributed: one process with N threads against N MPI ranks of one thread (started here with mpiexec):
/// step time, share in collectives, bytes per step with each compression, Allreduce bandwidth; then a projection to 4-64 ranks.
/// </summary>
public sealed class BenchDistributedCommand : Command<BenchDistributedSettings>
{
    private static readonly int[] ProjectedRanks = [2, 4, 8, 16, 32, 64];

    public override int Execute(CommandContext context, BenchDistributedSettings settings, CancellationToken cancellationToken)
    {
        if (settings.RankOutput is { } output) return RunRank(settings, output);
        string mpiexec = FindMpiexec();
        TorchRuntime.ConfigureThreads(settings.Ranks);
        var single = DistributedBenchmark.MeasureSingleProcess(settings.Options, settings.Ranks);
        var measured = RunRanks(mpiexec, settings, cancellationToken);
        Print(settings, single, measured);
        return 0;
    }

    private static int RunRank(BenchDistributedSettings settings, string output)
    {
        TorchRuntime.ConfigureThreads(1);
        using var world = MpiCommunicator.World();
        var measured = DistributedBenchmark.MeasureRanks(world, settings.Options);
        if (world.Rank == 0) AtomicFile.WriteAllText(output, JsonSerializer.Serialize(measured));
        return 0;
    }

    private static DistributedMeasurement RunRanks(string mpiexec, BenchDistributedSettings settings, CancellationToken cancellationToken)
    {
        string output = Path.Combine(Path.GetTempPath(), $"greenseg-bench-distributed-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo(mpiexec) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["-n", settings.Ranks.ToString(CultureInfo.InvariantCulture), Environment.ProcessPath!, "bench", "distributed",
            "--model", settings.Model, "--model-width", Invariant(settings.Width), "--size", Invariant(settings.Size), "--batch-size", Invariant(settings.BatchSize),
            "--steps", Invariant(settings.Steps), "--sync-every", Invariant(settings.SyncEvery), "--rank-output", output])
            start.ArgumentList.Add(argument);
        try
        {
            using var ranks = Process.Start(start)!;
            var stdout = ranks.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = ranks.StandardError.ReadToEndAsync(cancellationToken);
            ranks.WaitForExit();
            if (ranks.ExitCode != 0 || !File.Exists(output))
                throw new GreenSegException($"mpiexec -n {settings.Ranks} (the ranks of this benchmark) failed with exit code {ranks.ExitCode}:\n{stdout.Result}{stderr.Result}");
            return JsonSerializer.Deserialize<DistributedMeasurement>(File.ReadAllText(output))!;
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static void Print(BenchDistributedSettings settings, StepTiming single, DistributedMeasurement measured)
    {
        ConsoleTable.Line($"one training step of {measured.Model} width {settings.Width} ({Format.Millions(measured.Parameters)} parameters, fp32) on {settings.Size}² slices, " +
            $"batch {settings.BatchSize} per rank; median of {settings.Steps} steps after 2 warm-up steps; the ranks share this machine's cores");
        ConsoleTable.Write(["how", "processes × threads", "global batch", "s/step", "steps/s", "slices/s", "in collectives", "MB sent per step per rank"],
            new[] { single }.Concat(measured.Steps).Select(s => (IReadOnlyList<string>)
            [
                s.Ranks == 1 ? "1 process" : $"{s.Ranks} ranks: {s.Label}", $"{s.Ranks} × {s.ThreadsPerRank}", Invariant(s.GlobalBatch),
                F(s.SecondsPerStep, "0.000"), F(s.StepsPerSecond, "0.00"), F(s.SlicesPerSecond, "0.0"), F(100 * s.CommunicationShare, "0.0") + " %",
                F(s.MegabytesSentPerStep, "0.000"),
            ]), 2, 3, 4, 5, 6, 7);
        ConsoleTable.Line("");
        ConsoleTable.Write(["fp32 MPI_Allreduce", "ms", "bus GB/s (ring: 2(R-1)/R of the buffer per rank)"],
            measured.Allreduce.Select(a => (IReadOnlyList<string>)[F(a.Bytes / 1048576.0, "0") + " MiB", F(a.Seconds * 1e3, "0.000"), F(a.BusGigabytesPerSecond, "0.00")]), 1, 2);
        ConsoleTable.Line(F(measured.LatencySeconds * 1e6, "0.0") + " µs for an 8-byte Allreduce (latency)");

        double localBandwidth = measured.BestBusBytesPerSecond;
        PrintProjection(measured, $"PROJECTION, not a measurement: ranks on one node's shared memory as measured here ({F(localBandwidth / 1e9, "0.00")} GB/s, {F(measured.LatencySeconds * 1e6, "0.0")} µs)",
            localBandwidth, measured.LatencySeconds);
        PrintProjection(measured, $"PROJECTION, not a measurement: one rank per node over a {F(settings.BandwidthGigabytes, "0.00")} GB/s network with {F(settings.LatencyMicroseconds, "0")} µs latency (--bandwidth-gbps, --latency-us)",
            settings.BandwidthGigabytes * 1e9, settings.LatencyMicroseconds * 1e-6);
        ConsoleTable.Line("Weak scaling: each rank keeps the measured per-rank batch and compute time (step minus collectives); an exchange costs " +
            "2(R-1)/R · payload / bandwidth + 2(R-1) · latency, plus the encoding and decoding time measured here; waiting for a slower rank " +
            "(this machine's shared cores) is left out. Ranks sharing cores here make the measured compute slower than one rank per node would be.");
    }

    private static void PrintProjection(DistributedMeasurement measured, string title, double bandwidth, double latency)
    {
        ConsoleTable.Line("");
        ConsoleTable.Line(title);
        var projected = DistributedBenchmark.Project(measured, ProjectedRanks, bandwidth, latency);
        ConsoleTable.Write(["ranks", "global batch", .. measured.Steps.Select(s => s.Label + " s/step"), "fp32 slices/s", "fp32 efficiency"],
            projected.Select(p => (IReadOnlyList<string>)
            [
                Invariant(p.Ranks), Invariant(p.GlobalBatch), .. p.Steps.Select(s => F(s.Seconds, "0.000")),
                F(p.GlobalBatch / p.Steps[0].Seconds, "0.0"), F(100 * p.ComputeSeconds / p.Steps[0].Seconds, "0") + " %",
            ]), [.. Enumerable.Range(0, measured.Steps.Count + 4)]);
    }

    private static string FindMpiexec() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "mpiexec")).FirstOrDefault(File.Exists)
        ?? throw new GreenSegException("bench distributed starts its ranks with mpiexec, which is not on PATH (Debian: apt-get install mpich)");

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
