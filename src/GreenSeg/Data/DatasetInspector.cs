using System.Collections.Concurrent;
using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Data;

public sealed record StackReport(string Id, string Sequence, int Slices, string Shapes, string Spacings, string ImageTypes,
    string MaskTypes, int EmptyMasks, double MedianCoverage, double MaxCoverage);

public sealed record TestVolumeReport(string Id, string Sequence, string Shape, string Spacing, string ImageType, double? MaskCoverage);

public sealed record SequenceReport(string Sequence, int TrainingStacks, int Slices, int EmptyMasks, int TestStacks, string Shapes, string Spacings, string ImageTypes);

public sealed class InspectionReport
{
    public required Dataset Dataset { get; init; }
    public required IReadOnlyList<StackReport> Stacks { get; init; }
    public required IReadOnlyList<TestVolumeReport> TestVolumes { get; init; }
    public required IReadOnlyList<SequenceReport> Sequences { get; init; }
    /// <summary>Problems of the layout and of reading the files, each naming a file.</summary>
    public required IReadOnlyList<DatasetProblem> Problems { get; init; }

    public int SlicesWithMasks => Stacks.Sum(s => s.Slices);
}

/// <summary>Reads every file of a dataset and reports what it holds and what is wrong with it.</summary>
public static class DatasetInspector
{
    public static InspectionReport Inspect(Dataset dataset, IProgress<int>? filesDone = null)
    {
        var problems = new ConcurrentBag<DatasetProblem>(dataset.Problems);
        int done = 0;
        var stackReports = new ConcurrentBag<StackReport>();
        Parallel.ForEach(dataset.TrainingStacks, stack =>
        {
            stackReports.Add(InspectStack(stack, problems));
            filesDone?.Report(Interlocked.Add(ref done, stack.Slices.Count));
        });
        var volumeReports = new ConcurrentBag<TestVolumeReport>();
        Parallel.ForEach(dataset.TestVolumes, volume =>
        {
            var report = InspectVolume(volume, problems);
            if (report is not null) volumeReports.Add(report);
            filesDone?.Report(Interlocked.Increment(ref done));
        });

        var stacks = stackReports.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        var volumes = volumeReports.OrderBy(v => v.Id, StringComparer.Ordinal).ToList();
        var sequences = stacks.Select(s => s.Sequence).Concat(volumes.Select(v => v.Sequence)).Distinct().Order(StringComparer.Ordinal)
            .Select(seq =>
            {
                var own = stacks.Where(s => s.Sequence == seq).ToList();
                var tests = volumes.Where(v => v.Sequence == seq).ToList();
                return new SequenceReport(seq, own.Count, own.Sum(s => s.Slices), own.Sum(s => s.EmptyMasks), tests.Count,
                    Join(own.Select(s => s.Shapes).Concat(tests.Select(t => t.Shape))),
                    Join(own.Select(s => s.Spacings).Concat(tests.Select(t => t.Spacing))),
                    Join(own.Select(s => s.ImageTypes).Concat(tests.Select(t => t.ImageType))));
            })
            .ToList();
        return new InspectionReport
        {
            Dataset = dataset,
            Stacks = stacks,
            TestVolumes = volumes,
            Sequences = sequences,
            Problems = problems.OrderBy(p => p.Path, StringComparer.Ordinal).ToList(),
        };
    }

    private static StackReport InspectStack(TrainingStack stack, ConcurrentBag<DatasetProblem> problems)
    {
        var shapes = new SortedSet<string>(StringComparer.Ordinal);
        var spacings = new SortedSet<string>(StringComparer.Ordinal);
        var imageTypes = new SortedSet<string>(StringComparer.Ordinal);
        var maskTypes = new SortedSet<string>(StringComparer.Ordinal);
        var coverages = new List<double>();
        // 3D files give several slices: read each file once.
        foreach (var file in stack.Slices.GroupBy(s => (s.ImagePath, s.MaskPath)))
        {
            NiftiImage image, mask;
            try
            {
                image = NiftiImage.Read(file.Key.ImagePath);
                mask = NiftiImage.Read(file.Key.MaskPath!);
            }
            catch (InvalidInputException e)
            {
                problems.Add(new(e.Path, e.Problem));
                continue;
            }
            if ((image.SizeX, image.SizeY, image.SizeZ) != (mask.SizeX, mask.SizeY, mask.SizeZ))
            {
                problems.Add(new(file.Key.MaskPath!, $"mask is {Shape(mask)} but its image is {Shape(image)}"));
                continue;
            }
            shapes.Add(Shape(image));
            spacings.Add(Spacing(image));
            imageTypes.Add(image.Header.DataType.ToString().ToLowerInvariant());
            maskTypes.Add(mask.Header.DataType.ToString().ToLowerInvariant());
            var binary = mask.BinaryMask();
            foreach (var slice in file)
            {
                int count = 0;
                for (int i = slice.Z * mask.SliceLength, end = i + mask.SliceLength; i < end; i++) count += binary[i];
                coverages.Add(count / (double)mask.SliceLength);
            }
        }
        var sorted = coverages.Order().ToList();
        return new StackReport(stack.Id, stack.Sequence, coverages.Count, Join(shapes), Join(spacings), Join(imageTypes), Join(maskTypes),
            coverages.Count(c => c == 0), sorted.Count == 0 ? 0 : sorted[sorted.Count / 2], sorted.Count == 0 ? 0 : sorted[^1]);
    }

    private static TestVolumeReport? InspectVolume(TestVolume volume, ConcurrentBag<DatasetProblem> problems)
    {
        try
        {
            var image = NiftiImage.Read(volume.ImagePath);
            double? coverage = null;
            if (volume.MaskPath is not null)
            {
                var mask = NiftiImage.Read(volume.MaskPath);
                if ((mask.SizeX, mask.SizeY, mask.SizeZ) != (image.SizeX, image.SizeY, image.SizeZ))
                    problems.Add(new(volume.MaskPath, $"mask is {Shape(mask)} but its image is {Shape(image)}"));
                else coverage = mask.BinaryMask().Count(b => b != 0) / (double)mask.VoxelCount;
            }
            return new TestVolumeReport(volume.Id, volume.Sequence, Shape(image), Spacing(image), image.Header.DataType.ToString().ToLowerInvariant(), coverage);
        }
        catch (InvalidInputException e)
        {
            problems.Add(new(e.Path, e.Problem));
            return null;
        }
    }

    public static string Shape(NiftiImage image) => $"{image.SizeX}x{image.SizeY}x{image.SizeZ}";

    public static string Spacing(NiftiImage image) =>
        FormattableString.Invariant($"{image.SpacingX:0.###}x{image.SpacingY:0.###}x{image.SpacingZ:0.###} mm");

    private static string Join(IEnumerable<string> values) => string.Join(", ", values.SelectMany(v => v.Split(", ")).Distinct().Order(StringComparer.Ordinal));
}
