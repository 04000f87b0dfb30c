using GreenSeg.Models;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using GreenSeg.Common;
using GreenSeg.Data;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Imaging;
using GreenSeg.Inference;
using GreenSeg.Training;

namespace GreenSeg.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of every reader of untrusted input: NIfTI files, model.json and model.pt, PyTorch weights, ONNX models, YAML configs,
/// study files, dataset layouts and file names. Each case must end in a valid result or a
/// <see cref="GreenSegException"/> (a clear error naming the input), never another exception type, within a
/// time and an allocation bound. A failing case prints its seed, so it can be replayed alone.
/// </summary>
public sealed class ReaderFuzzTests : IDisposable
{
    private const int Cases = 300;
    private static readonly TimeSpan TimeBound = TimeSpan.FromSeconds(5);
    private const long AllocationBound = 512L << 20;

    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Runs one case; any exception but a GreenSegException fails with the case's name.</summary>
    private static void Case(string name, Action read)
    {
        var clock = Stopwatch.StartNew();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            read();
        }
        catch (GreenSegException)
        {
            // A clear error naming the input: what hostile input should get.
        }
        catch (Exception e)
        {
            throw new ShouldAssertException($"{name}: {e.GetType().Name} escaped: {e.Message}", e);
        }
        clock.Elapsed.ShouldBeLessThan(TimeBound, name);
        (GC.GetAllocatedBytesForCurrentThread() - allocated).ShouldBeLessThan(AllocationBound, name);
    }

    private static byte[] Mutate(byte[] source, Random random)
    {
        var bytes = (byte[])source.Clone();
        switch (random.Next(5))
        {
            case 0: // flip bytes anywhere
                for (int i = random.Next(1, 8); i > 0; i--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                break;
            case 1: // truncate
                bytes = bytes[..random.Next(bytes.Length)];
                break;
            case 2: // overwrite a header field (the first 352 bytes) with an extreme value
                int at = random.Next(Math.Min(bytes.Length, 348) - 8);
                long[] extremes = [0, -1, 1, short.MaxValue, short.MinValue, int.MaxValue, long.MaxValue, 348, 351];
                BitConverter.GetBytes(extremes[random.Next(extremes.Length)]).AsSpan(0, random.Next(2) == 0 ? 2 : 4).CopyTo(bytes.AsSpan(at));
                break;
            case 3: // a float field to NaN or infinity
                int f = random.Next(Math.Min(bytes.Length, 348) / 4) * 4;
                BitConverter.GetBytes(random.Next(2) == 0 ? float.NaN : float.PositiveInfinity).CopyTo(bytes, f);
                break;
            default: // append garbage
                var tail = new byte[random.Next(1, 4096)];
                random.NextBytes(tail);
                bytes = [.. bytes, .. tail];
                break;
        }
        return bytes;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    [Fact]
    public void Nifti_files_mutated_at_random_read_or_fail_clearly()
    {
        string valid = Path.Combine(_root, "valid.nii");
        NiftiImage.Create(6, 5, 4, 1, 1, 3, Enumerable.Range(0, 120).Select(i => (float)i).ToArray(), NiftiDataType.Int16).Write(valid);
        byte[] source = File.ReadAllBytes(valid);
        for (int seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            byte[] mutated = Mutate(source, random);
            bool gzipped = seed % 2 == 1;
            string path = Path.Combine(_root, $"case{seed}.nii{(gzipped ? ".gz" : "")}");
            File.WriteAllBytes(path, gzipped ? Gzip(mutated) : mutated);
            Case($"nifti seed {seed}", () =>
            {
                var image = NiftiImage.Read(path);
                image.Scaled().Length.ShouldBe(image.VoxelCount);
            });
            Case($"nifti header seed {seed}", () => NiftiImage.ReadHeader(path));
        }
    }

    [Fact]
    public void Model_manifests_and_weights_mutated_at_random_load_or_fail_clearly()
    {
        string model = GreenSeg.Tests.Inference.TinyModel.UntrainedCheckpoint(Path.Combine(_root, "model"));
        byte[] manifest = File.ReadAllBytes(Path.Combine(model, CheckpointManifest.FileName));
        byte[] weights = File.ReadAllBytes(Path.Combine(model, CheckpointManifest.WeightsFileName));
        for (int seed = 0; seed < Cases / 2; seed++)
        {
            var random = new Random(seed);
            string folder = Path.Combine(_root, $"model{seed}");
            Directory.CreateDirectory(folder);
            bool breakManifest = seed % 2 == 0;
            File.WriteAllBytes(Path.Combine(folder, CheckpointManifest.FileName), breakManifest ? MutateText(manifest, random) : manifest);
            File.WriteAllBytes(Path.Combine(folder, CheckpointManifest.WeightsFileName), breakManifest ? weights : Mutate(weights, random));
            Case($"model seed {seed}", () =>
            {
                using var segmenter = Segmenter.Load(folder, new SegmentOptions { Precision = InferencePrecision.Fp32 });
            });
        }
    }

    [Theory]
    [InlineData("weights.safetensors")]
    [InlineData("weights.pth")]
    public void PyTorch_weight_files_mutated_at_random_import_or_fail_clearly(string file)
    {
        using var model = ModelRegistry.Create("micronet", new ModelOptions { Seed = 1 });
        string valid = Path.Combine(_root, file);
        PyTorchWeights.Export(model, valid, PyTorchWeights.FormatOf(valid));
        byte[] source = File.ReadAllBytes(valid);
        var described = new CheckpointManifest { Model = "micronet", Size = 64, Spacing = 2, PreprocessingVersion = 1 };
        for (int seed = 0; seed < Cases / 2; seed++)
        {
            var random = new Random(seed);
            string path = Path.Combine(_root, $"case{seed}{Path.GetExtension(file)}");
            File.WriteAllBytes(path, Mutate(source, random));
            Case($"{file} seed {seed}", () => PyTorchWeights.Import(model, path));
            // models import also reads the blocks' widths from the file's tensor shapes.
            Case($"{file} seed {seed}, widths", () => PyTorchWeights.InternalWidthsIn(path, described));
        }
    }

    [Fact]
    public void Onnx_models_mutated_at_random_load_or_fail_clearly()
    {
        string checkpoint = GreenSeg.Tests.Inference.TinyModel.UntrainedCheckpoint(Path.Combine(_root, "checkpoint"));
        string valid = Path.Combine(_root, "model.onnx");
        OnnxModels.ExportCheckpoint(checkpoint, valid, new OnnxExportOptions());
        byte[] source = File.ReadAllBytes(valid);
        for (int seed = 0; seed < Cases / 2; seed++)
        {
            var random = new Random(seed);
            string path = Path.Combine(_root, $"case{seed}.onnx");
            File.WriteAllBytes(path, Mutate(source, random));
            Case($"onnx seed {seed}", () =>
            {
                using var segmenter = Segmenter.Load(path, new SegmentOptions { Engine = InferenceEngine.Onnx, Threads = 1 });
            });
        }
    }

    /// <summary>Text mutations: characters replaced, cut, doubled, or keys and values swapped for extreme ones.</summary>
    private static byte[] MutateText(byte[] source, Random random)
    {
        string text = Encoding.UTF8.GetString(source);
        string[] extremes = ["-1", "0", "1e300", "NaN", "\"x\"", "null", "[]", "{}", "2147483648", "-9223372036854775809", "\u0663", "'", ":", "\t", "&a", "*a", "!!binary"];
        var builder = new StringBuilder(text);
        switch (random.Next(4))
        {
            case 0:
                for (int i = random.Next(1, 6); i > 0 && builder.Length > 0; i--) builder[random.Next(builder.Length)] = (char)random.Next(32, 127);
                break;
            case 1:
                builder.Length = random.Next(builder.Length + 1);
                break;
            case 2:
                builder.Insert(random.Next(builder.Length + 1), extremes[random.Next(extremes.Length)]);
                break;
            default:
                var numbers = System.Text.RegularExpressions.Regex.Matches(text, @"-?\d+(\.\d+)?([eE][-+]?\d+)?").ToList();
                if (numbers.Count == 0) goto case 2;
                var number = numbers[random.Next(numbers.Count)];
                builder.Remove(number.Index, number.Length).Insert(number.Index, extremes[random.Next(extremes.Length)]);
                break;
        }
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    [Fact]
    public void Yaml_configs_and_study_files_mutated_at_random_parse_or_fail_clearly()
    {
        byte[] config = Encoding.UTF8.GetBytes(new TrainingOptions { Data = "d" }.ToYaml());
        byte[] study = Encoding.UTF8.GetBytes(StudyPresets.Text("quick"));
        for (int seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            string configText = Encoding.UTF8.GetString(MutateText(config, random));
            Case($"config seed {seed}", () => TrainingOptions.Parse(configText, "fuzz.yaml").Validate());
            string studyText = Encoding.UTF8.GetString(MutateText(study, random));
            Case($"study seed {seed}", () => StudyDefinitionParser.Parse(studyText, "fuzz-study.yaml", "fuzz"));
        }
    }

    [Fact]
    public void Dataset_layouts_with_random_names_and_contents_open_and_inspect_or_fail_clearly()
    {
        string[] parts = ["T2W", "DWI", "FMRI", "vol0001", "_slice", "_slice07", "_slice99999999999", "_slice\u0663", "_mask", "_seg", "[x]", " ", "..", "é", "_", "ß", "%", "-", "{0}"];
        string sliceFile = Path.Combine(_root, "slice.nii.gz");
        NiftiImage.Create(4, 4, 1, 1, 1, 3, new float[16], NiftiDataType.Int16).Write(sliceFile);
        byte[] slice = File.ReadAllBytes(sliceFile);
        for (int seed = 0; seed < Cases / 4; seed++)
        {
            var random = new Random(seed);
            string data = Path.Combine(_root, $"data{seed}");
            string[] folders = random.Next(3) switch
            {
                0 => ["train_slice/images", "train_slice/masks", "test_volume/images"],
                1 => ["images", "masks"],
                _ => [""],
            };
            foreach (string folder in folders)
            {
                Directory.CreateDirectory(Path.Combine(data, folder));
                for (int f = random.Next(1, 6); f > 0; f--)
                {
                    string stem = string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => parts[random.Next(parts.Length)]));
                    string name = stem + (random.Next(4) == 0 ? ".nii" : ".nii.gz");
                    byte[] content = random.Next(3) == 0 ? Mutate(slice, random) : slice;
                    File.WriteAllBytes(Path.Combine(data, folder, name), content);
                }
            }
            if (folders[0] == "")
                File.WriteAllText(Path.Combine(data, "list.csv"), string.Join('\n', Directory.GetFiles(data).Select(f => $"{Path.GetFileName(f)},{Path.GetFileName(f)}")) + "\n\"unclosed,quote\n");
            string open = folders[0] == "" ? Path.Combine(data, "list.csv") : data;
            Case($"dataset seed {seed}", () => DatasetInspector.Inspect(DatasetReader.Open(open)));
        }
    }
}
