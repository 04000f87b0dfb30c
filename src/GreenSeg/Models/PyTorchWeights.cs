using GreenSeg.Common;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace GreenSeg.Models;

/// <summary>The two file formats PyTorch users exchange weights in.</summary>
public enum PyTorchFormat
{
    /// <summary>Hugging Face's safetensors: a JSON index and raw tensors; nothing in it can run.</summary>
    Safetensors,
    /// <summary>torch.save(model.state_dict()): a pickled state dict, read by a restricted unpickler that builds tensors and dictionaries only.</summary>
    StateDict,
}

/// <summary>
/// GreenSeg models in and out of PyTorch (TorchSharp.PyBridge). Tensor names are the state-dict keys GreenSeg's
/// own checkpoints use, which follow torch.nn (<c>inConv.conv1.conv.weight</c>, <c>...bn.running_mean</c>; see
/// <c>greenseg models show NAME</c>): a PyTorch module with the same structure and names loads them with
/// <c>load_state_dict</c>, and a state dict whose names differ is refused with the names that do not match.
/// </summary>
public static class PyTorchWeights
{
    /// <summary>.safetensors is safetensors; .pt, .pth and .bin are PyTorch state dicts.</summary>
    public static PyTorchFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".safetensors" => PyTorchFormat.Safetensors,
        ".pt" or ".pth" or ".bin" => PyTorchFormat.StateDict,
        _ => throw new InvalidInputException(path, "unknown weights format: name it .safetensors, or .pt/.pth/.bin for a PyTorch state dict"),
    };

    /// <summary>A GreenSeg checkpoint (run folder, checkpoint folder or model.pt) written as a PyTorch file; returns its manifest.</summary>
    public static CheckpointManifest ExportCheckpoint(string checkpoint, string path) => ExportCheckpoint(checkpoint, path, FormatOf(path));

    /// <summary>As above, in the given format whatever the file's extension.</summary>
    public static CheckpointManifest ExportCheckpoint(string checkpoint, string path, PyTorchFormat format)
    {
        // A file already there may be anything (GreenSeg cannot tell its own .pt or .safetensors apart): never replaced.
        if (File.Exists(path) || Directory.Exists(path)) throw new InvalidInputException(Path.GetFullPath(path), "already exists; export writes a new file only (choose another --out or remove it)");
        var (manifest, weights) = CheckpointManifest.Locate(checkpoint);
        using var model = manifest.CreateModel();
        ModelWeights.Load(model, weights);
        Export(model, path, format);
        return manifest;
    }

    /// <summary>
    /// A PyTorch file as a GreenSeg checkpoint folder (model.pt and model.json, which says how slices were prepared for
    /// the network); an existing checkpoint there is never replaced. Returns the folder's model.pt.
    /// </summary>
    public static string ImportCheckpoint(string path, CheckpointManifest manifest, string folder)
    {
        if (manifest.Problem() is { } problem) throw new GreenSegException($"the imported model's description: {problem}");
        if (manifest.InternalWidths is null) manifest = manifest with { InternalWidths = InternalWidthsIn(path, manifest) };
        string weights = Path.Combine(folder, CheckpointManifest.WeightsFileName);
        if (File.Exists(weights) || File.Exists(Path.Combine(folder, CheckpointManifest.FileName)))
            throw new InvalidInputException(Path.GetFullPath(folder), "already holds a checkpoint; choose another --out");
        using var model = manifest.CreateModel();
        Import(model, path);
        Directory.CreateDirectory(folder);
        ModelWeights.Save(model, weights);
        manifest.Save(folder);
        return weights;
    }

    /// <summary>
    /// The prunable blocks' widths that a file's tensors show for the manifest's architecture (structured pruning exports
    /// narrower tensors): each block's producing convolution's output channels as stored; null when every block has its
    /// default width.
    /// </summary>
    public static IReadOnlyList<int>? InternalWidthsIn(string path, CheckpointManifest manifest)
    {
        RequireReadable(path);
        using var scope = NewDisposeScope();
        var file = Read(path, FormatOf(path));
        using var model = (manifest with { InternalWidths = null }).CreateModel();
        var names = model.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        var producers = model.PrunableBlocks().Select(b => b.InternalChannels.Producer.Conv).ToList();
        var widths = producers.Select(conv =>
            names.TryGetValue(conv.Weight.Handle, out var name) && file.TryGetValue(name, out var stored) && stored.dim() > 0 ? (int)stored.shape[0] : (int)conv.OutChannels).ToList();
        if (widths.SequenceEqual(producers.Select(conv => (int)conv.OutChannels))) return null;
        var blocks = model.PrunableBlocks();
        for (int i = 0; i < widths.Count; i++)
            if (widths[i] < 1 || widths[i] > producers[i].OutChannels)
                throw new InvalidInputException(path, $"block {i} ({blocks[i].BlockKind}) holds {widths[i]} channels, more than {model.GetName()} at this width has ({producers[i].OutChannels}): not this architecture or width");
        return widths;
    }

    private static void RequireReadable(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "weights file not found");
        RegularFile.Require(path);
    }

    /// <summary>Writes every parameter and buffer (float32, NCHW), atomically.</summary>
    public static void Export(nn.Module model, string path, PyTorchFormat format) =>
        AtomicFile.Write(path, stream =>
        {
            if (format == PyTorchFormat.Safetensors) model.save_safetensors(stream, leaveOpen: true);
            else model.save_py(stream, leaveOpen: true);
        });

    /// <summary>
    /// Loads weights into a model built with the right architecture and width. Every tensor of the model must be in the
    /// file with its shape, and every tensor of the file must belong to the model; otherwise the model is left as it was
    /// and the error names the tensors.
    /// </summary>
    public static void Import(nn.Module model, string path)
    {
        RequireReadable(path);
        var format = FormatOf(path);
        using var scope = NewDisposeScope();
        var file = Read(path, format);
        var target = model.state_dict();
        var missing = target.Keys.Where(k => !file.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = file.Keys.Where(k => !target.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var misshapen = target.Where(t => file.TryGetValue(t.Key, out var f) && !f.shape.SequenceEqual(t.Value.shape))
            .Select(t => $"{t.Key} {Shape(file[t.Key])} (the model's is {Shape(t.Value)})").ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || misshapen.Count > 0)
            throw new InvalidInputException(path, $"does not fit {model.GetName()} as built: " + string.Join("; ",
                new[] { Listing("missing", missing), Listing("not in the model", unexpected), Listing("other shape", misshapen) }.Where(s => s.Length > 0)));
        using var noGrad = no_grad();
        foreach (var (name, tensor) in target) tensor.copy_(file[name].to(tensor.dtype));
    }

    /// <summary>Every tensor of the file by name; nothing in the file is executed (safetensors holds none, the unpickler builds tensors and dictionaries only).</summary>
    private static Dictionary<string, Tensor> Read(string path, PyTorchFormat format)
    {
        try
        {
            using var stream = File.OpenRead(path);
            if (format == PyTorchFormat.Safetensors)
            {
                RequireSafetensorsHeader(stream);
                return Safetensors.LoadStateDict(stream);
            }
            var table = PyTorchUnpickler.UnpickleStateDict(stream);
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry entry in table)
                tensors[entry.Key as string ?? throw new InvalidDataException("a key is not a name")] =
                    entry.Value as Tensor ?? throw new InvalidDataException($"'{entry.Key}' is not a tensor");
            return tensors;
        }
        catch (Exception e) when (e is not GreenSegException)
        {
            throw new InvalidInputException(path, $"not a readable {(format == PyTorchFormat.Safetensors ? "safetensors file" : "PyTorch state dict")}: {e.Message}", e);
        }
    }

    /// <summary>The header length (8 bytes, little endian) must fit the file and stay modest, before anything is allocated for it.</summary>
    private static void RequireSafetensorsHeader(Stream stream)
    {
        Span<byte> length = stackalloc byte[8];
        if (stream.ReadAtLeast(length, 8, throwOnEndOfStream: false) < 8) throw new InvalidDataException("shorter than a safetensors header");
        ulong headerBytes = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerBytes == 0 || headerBytes > (ulong)(stream.Length - 8) || headerBytes > 100_000_000)
            throw new InvalidDataException($"header length {headerBytes} does not fit a file of {stream.Length} bytes");
        stream.Position = 0;
    }

    private static string Shape(Tensor tensor) => $"[{string.Join(", ", tensor.shape)}]";

    private static string Listing(string what, IReadOnlyList<string> names) => names.Count switch
    {
        0 => "",
        <= 6 => $"{what}: {string.Join(", ", names)}",
        _ => $"{what}: {string.Join(", ", names.Take(6))} and {names.Count - 6} more",
    };
}
