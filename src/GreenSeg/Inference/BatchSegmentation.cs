using System.Diagnostics;
using System.Globalization;
using CsvHelper;
using GreenSeg.Transforms;
using GreenSeg.Models;
using GreenSeg.Common;
using GreenSeg.Energy;
using GreenSeg.Imaging;

namespace GreenSeg.Inference;

/// <summary>Where and under which names a batch writes its masks.</summary>
public sealed record SegmentationOutput
{
    public const string DefaultSuffix = "_mask";
    public const string ProbabilitySuffix = "_prob";

    /// <summary>The folder every output goes into; created when missing.</summary>
    public required string Folder { get; init; }
    /// <summary>Appended to the input's stem: <c>&lt;stem&gt;&lt;suffix&gt;.nii.gz</c>.</summary>
    public string Suffix { get; init; } = DefaultSuffix;
    /// <summary>Also write <c>&lt;stem&gt;_prob.nii.gz</c> (float32 probabilities before thresholding).</summary>
    public bool Probabilities { get; init; }
    /// <summary>Where inference.csv and emissions.csv go; null: <see cref="Folder"/>.</summary>
    public string? ReportFolder { get; init; }
    /// <summary>
    /// Replace masks (and probability maps) that already exist. Off by default: an existing file may be a
    /// reference mask of the dataset itself (its names end in _mask too), so such an input is refused instead.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// A suffix is part of a file name: no folder separators, and not the probability suffix when
    /// probabilities are written (both outputs would get one name).
    /// </summary>
    public SegmentationOutput Validate()
    {
        if (string.IsNullOrWhiteSpace(Folder)) throw new GreenSegException("no output folder given (--out DIR)");
        if (Suffix.IndexOfAny(['/', '\\']) >= 0 || Suffix.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new GreenSegException($"suffix '{Suffix}' must be part of a file name (no '/' or other path characters)");
        if (Probabilities && Suffix == ProbabilitySuffix)
            throw new GreenSegException($"suffix '{Suffix}' is the probability maps' suffix; choose another one or leave out --probabilities");
        if (File.Exists(Folder)) throw new InvalidInputException(Path.GetFullPath(Folder), "is a file; the output must be a folder");
        return this;
    }
}

/// <summary>One stack to segment: its input file, its name (the input's stem) and its output files.</summary>
public sealed record SegmentationJob(string Name, string InputPath, string MaskPath, string? ProbabilityPath);

/// <summary>The jobs of a batch, and the inputs that cannot become one (reported, never fatal).</summary>
public sealed record SegmentationPlan(SegmentationOutput Output, IReadOnlyList<SegmentationJob> Jobs, IReadOnlyList<InputProblem> Problems);

/// <summary>What happened to one stack: its time and energy (read, segment, write), or why it failed.</summary>
public sealed record StackOutcome(SegmentationJob Job, int Slices, TimeSpan Elapsed, SegmentationTimings? Timings, EnergyMeasurement Energy, string? Error)
{
    /// <summary>Large components of the thresholded mask before post-processing (<see cref="StackSegmentation.LargeComponentsBeforePostProcessing"/>); null when the stack failed.</summary>
    public int? LargeComponentsBeforePostProcessing { get; init; }

    public bool Succeeded => Error is null;
}

/// <summary>
/// A finished batch: the model (the first member of an ensemble), the members' count, their load time and
/// energy, every stack, the total over the stacks, and the report file.
/// </summary>
public sealed record BatchSegmentationResult(
    SegmentationPlan Plan,
    CheckpointManifest Model,
    int EnsembleSize,
    InferenceEngine Engine,
    TimeSpan ModelLoad,
    EnergyMeasurement ModelLoadEnergy,
    IReadOnlyList<StackOutcome> Stacks,
    EnergyMeasurement Total,
    string ReportPath)
{
    /// <summary>Every input that produced no mask: those refused while planning, then those that failed.</summary>
    public IReadOnlyList<InputProblem> Failures =>
        [.. Plan.Problems, .. Stacks.Where(s => !s.Succeeded).Select(s => new InputProblem(s.Job.InputPath, s.Error!))];

    public bool AllSucceeded => Failures.Count == 0;
    public int Slices => Stacks.Where(s => s.Succeeded).Sum(s => s.Slices);
}

/// <summary>
/// `greenseg segment` and the prediction stage of `greenseg e2mip`: expands inputs into jobs
/// (<see cref="Plan"/>), then loads the model once and segments the stacks one by one
/// (<see cref="Run"/>). A stack that cannot be read, segmented or written is reported and the rest go
/// on. Energy: one window for the model load, one per stack (read, segment, write) and one over all
/// stacks; all are written to inference.csv, the total also to emissions.csv (CodeCarbon's format).
/// </summary>
public static class BatchSegmentation
{
    public const string ReportFileName = "inference.csv";
    public const string EmissionsFileName = "emissions.csv";

    /// <summary>
    /// Names every output <c>&lt;stem&gt;&lt;suffix&gt;.nii.gz</c> inside the output folder (a file name
    /// only, so nothing escapes it). Two inputs that would write the same file: the later is a problem.
    /// Throws when an output would overwrite an input, before anything is written.
    /// </summary>
    public static SegmentationPlan Plan(IEnumerable<string> inputs, SegmentationOutput output)
    {
        output.Validate();
        var expanded = InputFiles.Expand(inputs);
        string folder = Path.GetFullPath(output.Folder);
        var problems = expanded.Problems.ToList();
        var jobs = new List<SegmentationJob>();
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string input in expanded.Files)
        {
            string name = NiftiFiles.Stem(input);
            string mask = Path.Combine(folder, name + output.Suffix + ".nii.gz");
            string? probabilities = output.Probabilities ? Path.Combine(folder, name + SegmentationOutput.ProbabilitySuffix + ".nii.gz") : null;
            string[] outputs = probabilities is null ? [mask] : [mask, probabilities];
            if (outputs.FirstOrDefault(owners.ContainsKey) is { } taken)
            {
                problems.Add(new InputProblem(input, $"its output {Path.GetFileName(taken)} is already written for {owners[taken]}; rename one of the inputs or segment them into different folders"));
                continue;
            }
            foreach (string file in outputs) owners[file] = input;
            if (!output.Overwrite && outputs.FirstOrDefault(File.Exists) is { } existing)
            {
                problems.Add(new InputProblem(input, $"its output {existing} already exists and is not overwritten (it may be a reference mask); give --overwrite to replace it, or another --out or --suffix"));
                continue;
            }
            jobs.Add(new SegmentationJob(name, input, mask, probabilities));
        }
        RefuseOverwritingInputs(expanded.Files, owners, output);
        return new SegmentationPlan(output, jobs, problems);
    }

    private static void RefuseOverwritingInputs(IReadOnlyList<string> inputs, Dictionary<string, string> owners, SegmentationOutput output)
    {
        // Links count: an output reached through a symlink to an input would still overwrite it.
        var outputsByTarget = owners.Keys.ToDictionary(Resolve, file => file, StringComparer.Ordinal);
        foreach (string input in inputs)
        {
            if (!outputsByTarget.TryGetValue(Resolve(input), out string? clash)) continue;
            throw new GreenSegException(
                $"refusing to overwrite the input {input}: with --out {output.Folder} and suffix '{output.Suffix}' the mask of {owners[clash]} would be written onto it; " +
                "choose another output folder or suffix");
        }
    }

    private static string Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            return File.Exists(full) && new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true) is { } target ? target.FullName : full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    /// <summary>Loads the model and segments every job of the plan; <paramref name="onStack"/> hears each outcome.</summary>
    public static BatchSegmentationResult Run(string modelPath, SegmentationPlan plan, SegmentOptions options, EnergyOptions energy,
        Action<StackOutcome>? onStack = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        using var session = EnergySession.Start(energy, "segment");
        var monitor = session.Monitor;
        // Window names carry a prefix so no stack name can collide with the two totals.
        monitor.BeginWindow("model-load");
        using var segmenter = Segmenter.Load(modelPath, options);
        var load = monitor.EndWindow("model-load");

        Directory.CreateDirectory(Path.GetFullPath(plan.Output.Folder));
        monitor.BeginWindow("all-stacks");
        var outcomes = new List<StackOutcome>();
        foreach (var job in plan.Jobs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string window = "stack:" + job.Name;
            monitor.BeginWindow(window);
            var clock = Stopwatch.StartNew();
            int slices = 0;
            SegmentationTimings? timings = null;
            int? components = null;
            string? error = null;
            var written = new List<string>();
            try
            {
                var stack = NiftiImage.Read(job.InputPath);
                slices = stack.SizeZ;
                var result = segmenter.Segment(stack, keepProbabilities: job.ProbabilityPath is not null);
                timings = result.Timings;
                components = result.LargeComponentsBeforePostProcessing;
                result.Mask.Write(job.MaskPath);
                written.Add(job.MaskPath);
                if (job.ProbabilityPath is not null) result.Probabilities!.Write(job.ProbabilityPath);
            }
            catch (Exception e) when (e is GreenSegException or IOException or UnauthorizedAccessException)
            {
                error = e is InvalidInputException invalid && invalid.Path == job.InputPath ? invalid.Problem : e.Message;
                // A failed stack leaves nothing of this run behind: not its mask when its probability map could not be written.
                DeleteQuietly(written);
            }
            var outcome = new StackOutcome(job, slices, clock.Elapsed, timings, monitor.EndWindow(window), error)
            {
                LargeComponentsBeforePostProcessing = error is null ? components : null,
            };
            outcomes.Add(outcome);
            onStack?.Invoke(outcome);
        }
        var total = monitor.EndWindow("all-stacks");

        string reportFolder = Path.GetFullPath(plan.Output.ReportFolder ?? plan.Output.Folder);
        string reportPath = Path.Combine(reportFolder, ReportFileName);
        var batch = new BatchSegmentationResult(plan, segmenter.Manifest, segmenter.Manifests.Count, segmenter.Options.ResolvedEngine, segmenter.LoadTime, load, outcomes, total, reportPath);
        AtomicFile.Write(reportPath, stream => WriteReport(batch, stream));
        session.AppendEmissions(Path.Combine(reportFolder, EmissionsFileName), total);
        return batch;
    }

    private static void DeleteQuietly(IEnumerable<string> files)
    {
        foreach (string file in files)
        {
            try
            {
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The stack is reported as failed either way; a file that cannot be deleted stays named in the error.
            }
        }
    }

    /// <summary>
    /// inference.csv: a row per stack (ok or failed, inputs refused while planning included), then the
    /// total over all stacks and the model load. Seconds cover reading, segmenting and writing;
    /// the timing columns split the segmentation itself. Energy columns as <see cref="EnergyColumns"/>.
    /// </summary>
    public static void WriteReport(BatchSegmentationResult batch, Stream stream)
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        string[] header =
        [
            "row", "stack", "input", "output", "status", "slices", "seconds", "segment_seconds", "prepare_seconds", "network_seconds",
            "restore_seconds", "postprocess_seconds", .. EnergyColumns.Headers(), "error",
        ];
        foreach (string field in header) csv.WriteField(field);
        csv.NextRecord();

        void Row(string kind, string stack, string input, string output, string status, int? slices, TimeSpan? elapsed,
            SegmentationTimings? timings, EnergyMeasurement? energy, string error)
        {
            string[] energyValues = energy is null ? [.. EnergyColumns.Headers().Select(_ => "")] : [.. EnergyColumns.From(energy).Values()];
            TimeSpan? segment = timings is null ? null : timings.Prepare + timings.Network + timings.Restore + timings.PostProcess;
            string[] fields =
            [
                kind, stack, input, output, status, slices?.ToString(CultureInfo.InvariantCulture) ?? "",
                Seconds(elapsed), Seconds(segment), Seconds(timings?.Prepare), Seconds(timings?.Network), Seconds(timings?.Restore),
                Seconds(timings?.PostProcess), .. energyValues, error,
            ];
            foreach (string field in fields) csv.WriteField(field);
            csv.NextRecord();
        }

        foreach (var s in batch.Stacks)
            Row("stack", s.Job.Name, s.Job.InputPath, s.Succeeded ? Path.GetFileName(s.Job.MaskPath) : "", s.Succeeded ? "ok" : "failed",
                s.Slices, s.Elapsed, s.Timings, s.Energy, s.Error ?? "");
        foreach (var problem in batch.Plan.Problems)
            Row("stack", NiftiFiles.Stem(problem.Path), problem.Path, "", "failed", null, null, null, null, problem.Problem);
        int failed = batch.Failures.Count;
        Row("all-stacks", "", "", "", failed == 0 ? "ok" : $"{failed} failed", batch.Slices, batch.Total.Duration, null, batch.Total, "");
        Row("model-load", batch.EnsembleSize > 1 ? $"{batch.EnsembleSize} x {batch.Model.Model}" : batch.Model.Model, "", "", "ok", null, batch.ModelLoad, null, batch.ModelLoadEnergy, "");
    }

    private static string Seconds(TimeSpan? time) => time?.TotalSeconds.ToString("F4", CultureInfo.InvariantCulture) ?? "";
}
