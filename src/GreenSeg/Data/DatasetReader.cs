using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using GreenSeg.Common;
using GreenSeg.Imaging;

namespace GreenSeg.Data;

/// <summary>
/// Opens a dataset in any supported layout and groups its slices into stacks. Reading voxels is left to
/// the loaders; only headers of 3D training files are read (to know their slice count).
/// <list type="bullet">
/// <item>E2MIP task 3: <c>train_slice/images|masks</c> and <c>test_volume/images</c> (or NIfTI files directly in <c>test_volume/</c>),
/// optional <c>test_volume/masks</c> with ground truth. Either part may be absent.</item>
/// <item>Paired: <c>images/</c> and <c>masks/</c> folders matched by <see cref="StackNaming"/>.</item>
/// <item>CSV: a file of <c>image,mask</c> rows (paths relative to the CSV's folder; a header row is optional).</item>
/// </list>
/// </summary>
public static class DatasetReader
{
    public static Dataset Open(string path)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            if (full.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            {
                RegularFile.Require(full);
                return OpenCsv(full);
            }
            throw new InvalidInputException(full, "expected a dataset folder or a .csv list of image,mask pairs");
        }
        if (!Directory.Exists(full)) throw new InvalidInputException(full, "dataset not found");

        string train = Path.Combine(full, "train_slice"), test = Path.Combine(full, "test_volume");
        if (Directory.Exists(train) || Directory.Exists(test))
            return OpenE2mip(Directory.Exists(train) ? train : null, Directory.Exists(test) ? test : null, full);
        if (Directory.Exists(Path.Combine(full, "images")))
        {
            var problems = new List<DatasetProblem>();
            var stacks = ReadPairedFolders(full, problems);
            return new Dataset { Root = full, Layout = DatasetLayout.Paired, TrainingStacks = stacks, TestVolumes = [], Problems = problems };
        }
        throw new InvalidInputException(full, "no known layout: expected train_slice/ and/or test_volume/ (E2MIP), images/ and masks/ (paired), or a .csv file");
    }

    /// <summary>The E2MIP contract's two folders, given separately (either may be null).</summary>
    public static Dataset OpenE2mip(string? trainSliceFolder, string? testFolder, string? root = null)
    {
        var problems = new List<DatasetProblem>();
        var stacks = trainSliceFolder is null ? [] : ReadPairedFolders(RequireFolder(trainSliceFolder), problems);
        var volumes = testFolder is null ? [] : ReadTestFolder(RequireFolder(testFolder), problems);
        return new Dataset
        {
            Root = root ?? Path.GetFullPath(trainSliceFolder ?? testFolder ?? "."),
            Layout = DatasetLayout.E2mip,
            TrainingStacks = stacks,
            TestVolumes = volumes,
            Problems = problems,
        };
    }

    private static string RequireFolder(string folder)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full)) throw new InvalidInputException(full, "folder not found");
        return full;
    }

    private static List<TrainingStack> ReadPairedFolders(string folder, List<DatasetProblem> problems)
    {
        string images = Path.Combine(folder, "images"), masks = Path.Combine(folder, "masks");
        if (!Directory.Exists(images)) throw new InvalidInputException(folder, "has no images/ folder");
        if (!Directory.Exists(masks)) throw new InvalidInputException(folder, "has no masks/ folder");
        var pairs = PairByName(NiftiFiles.InFolder(images), NiftiFiles.InFolder(masks), problems, masksRequired: true);
        return GroupIntoStacks(pairs.Where(p => p.Mask is not null).Select(p => (p.Image, p.Mask)), problems);
    }

    private static List<TestVolume> ReadTestFolder(string folder, List<DatasetProblem> problems)
    {
        string images = Path.Combine(folder, "images");
        var imageFiles = NiftiFiles.InFolder(Directory.Exists(images) ? images : folder);
        string masks = Path.Combine(folder, "masks");
        var maskFiles = Directory.Exists(masks) ? NiftiFiles.InFolder(masks) : [];
        return PairByName(imageFiles, maskFiles, problems, masksRequired: false)
            .Select(p =>
            {
                string id = NiftiFiles.Stem(p.Image);
                return new TestVolume(id, StackNaming.SequenceOf(id), p.Image, p.Mask);
            })
            .ToList();
    }

    private static List<(string Image, string? Mask)> PairByName(List<string> images, List<string> masks,
        List<DatasetProblem> problems, bool masksRequired)
    {
        var masksByImageStem = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string mask in masks)
        {
            string stem = StackNaming.ImageStemOfMask(NiftiFiles.Stem(mask));
            if (!masksByImageStem.TryAdd(stem, mask))
                problems.Add(new(mask, $"a second mask for image '{stem}' (first: {Path.GetFileName(masksByImageStem[stem])}); ignored"));
        }
        var pairs = new List<(string, string?)>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (string image in images)
        {
            string stem = NiftiFiles.Stem(image);
            if (masksByImageStem.TryGetValue(stem, out var mask))
            {
                used.Add(stem);
                pairs.Add((image, mask));
            }
            else
            {
                if (masksRequired) problems.Add(new(image, "image has no mask (expected masks/" + stem + "_mask.nii.gz); skipped"));
                pairs.Add((image, null));
            }
        }
        foreach (var (stem, mask) in masksByImageStem)
            if (!used.Contains(stem)) problems.Add(new(mask, $"mask has no image (expected images/{stem}.nii[.gz]); skipped"));
        return pairs;
    }

    private static Dataset OpenCsv(string csvPath)
    {
        var problems = new List<DatasetProblem>();
        var rows = new List<(string Image, string? Mask)>();
        string baseFolder = Path.GetDirectoryName(csvPath)!;
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            HasHeaderRecord = false, TrimOptions = TrimOptions.Trim, MissingFieldFound = null,
            // A malformed row (a stray quote) is a problem of that row; the other rows are still used.
            BadDataFound = bad => problems.Add(new(csvPath, $"line {bad.Context.Parser?.Row}: malformed CSV ({bad.Field.Trim()}); expected image,mask")),
        };
        using (var reader = new StreamReader(csvPath))
        using (var csv = new CsvReader(reader, config))
        {
            int line = 0;
            while (csv.Read())
            {
                line++;
                string image = csv.GetField(0) ?? "", mask = csv.GetField(1) ?? "";
                if (line == 1 && image.Equals("image", StringComparison.OrdinalIgnoreCase)) continue;
                if (image.Length == 0 || mask.Length == 0)
                {
                    problems.Add(new(csvPath, $"line {line}: expected image,mask"));
                    continue;
                }
                string imagePath = Path.GetFullPath(Path.Combine(baseFolder, image)), maskPath = Path.GetFullPath(Path.Combine(baseFolder, mask));
                if (!File.Exists(imagePath)) problems.Add(new(imagePath, $"listed on line {line} of {Path.GetFileName(csvPath)} but not found"));
                else if (!File.Exists(maskPath)) problems.Add(new(maskPath, $"listed on line {line} of {Path.GetFileName(csvPath)} but not found"));
                else rows.Add((imagePath, maskPath));
            }
        }
        return new Dataset { Root = csvPath, Layout = DatasetLayout.Csv, TrainingStacks = GroupIntoStacks(rows, problems), TestVolumes = [], Problems = problems };
    }

    /// <summary>2D files named &lt;stack&gt;_slice&lt;K&gt; join their stack in slice order; a 3D file is a stack of its slices.</summary>
    private static List<TrainingStack> GroupIntoStacks(IEnumerable<(string Image, string? Mask)> pairs, List<DatasetProblem> problems)
    {
        var slicesByStack = new SortedDictionary<string, List<(int Order, SliceRef Slice)>>(StringComparer.Ordinal);
        foreach (var (image, mask) in pairs)
        {
            int depth;
            try
            {
                depth = NiftiImage.ReadHeader(image).SizeZ;
            }
            catch (InvalidInputException e)
            {
                problems.Add(new(image, e.Problem + "; skipped"));
                continue;
            }
            var (stack, index) = StackNaming.Parse(NiftiFiles.Stem(image));
            if (depth > 1) index = null;
            if (!slicesByStack.TryGetValue(stack, out var list)) slicesByStack[stack] = list = [];
            if (index is int k) list.Add((k, new SliceRef(image, mask, 0)));
            else for (int z = 0; z < depth; z++) list.Add((z, new SliceRef(image, mask, z)));
        }
        return slicesByStack
            .Select(kv => new TrainingStack(kv.Key, StackNaming.SequenceOf(kv.Key), kv.Value.OrderBy(s => s.Order).Select(s => s.Slice).ToList()))
            .ToList();
    }
}
