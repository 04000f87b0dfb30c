using System.Runtime.Serialization;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using GreenSeg.Common;

namespace GreenSeg.Data;

/// <summary>Where prepared slices are kept (the config's <c>cache:</c> none | memory | disk).</summary>
public enum CacheMode
{
    /// <summary>Read and preprocess every slice every epoch (the study's baseline).</summary>
    [EnumMember(Value = "none")] None,
    /// <summary>Preprocess once, keep the results in memory for the whole run.</summary>
    [EnumMember(Value = "memory")] Memory,
    /// <summary>Preprocess once, keep the results on disk across runs, keyed by the preprocessing fingerprint.</summary>
    [EnumMember(Value = "disk")] Disk,
}

/// <summary>
/// Gives the prepared (deterministically preprocessed) sample of a slice, doing the work at most once
/// per run (memory) or once per preprocessing configuration (disk). Random augmentation happens after
/// this, every epoch. Thread-safe.
/// </summary>
public sealed class SampleCache
{
    private const int DiskFormatVersion = 2;
    private readonly Func<RawSlice, PreparedSample> _prepare;
    private readonly string _fingerprint;
    private readonly string? _diskFolder;
    private readonly ConcurrentDictionary<SliceRef, PreparedSample> _memory = new();
    private readonly ThreadLocal<SliceReader> _readers = new(() => new SliceReader());
    private readonly ConcurrentDictionary<string, string> _contentHashes = new(StringComparer.Ordinal);
    private long _prepared, _hits;

    public CacheMode Mode { get; }
    /// <summary>Slices that had to be read and preprocessed.</summary>
    public long PreparedCount => Interlocked.Read(ref _prepared);
    /// <summary>Slices served from memory or disk.</summary>
    public long HitCount => Interlocked.Read(ref _hits);

    /// <param name="prepare">The deterministic preprocessing.</param>
    /// <param name="fingerprint">Identifies that preprocessing; a different value never reads another's disk entries.</param>
    /// <param name="diskRoot">Where the disk cache lives (mode Disk only).</param>
    public SampleCache(CacheMode mode, Func<RawSlice, PreparedSample> prepare, string fingerprint, string? diskRoot = null)
    {
        Mode = mode;
        _prepare = prepare;
        _fingerprint = fingerprint;
        if (mode == CacheMode.Disk)
        {
            if (string.IsNullOrWhiteSpace(diskRoot)) throw new GreenSegException("the disk cache needs a folder (--cache-dir)");
            _diskFolder = Path.Combine(Path.GetFullPath(diskRoot), Hash(fingerprint)[..16]);
            Directory.CreateDirectory(_diskFolder);
        }
    }

    public PreparedSample Get(SliceRef slice)
    {
        switch (Mode)
        {
            case CacheMode.Memory:
                if (_memory.TryGetValue(slice, out var cached))
                {
                    Interlocked.Increment(ref _hits);
                    return cached;
                }
                return _memory.GetOrAdd(slice, Prepare(slice));
            case CacheMode.Disk:
                return GetFromDisk(slice);
            default:
                return Prepare(slice);
        }
    }

    private PreparedSample Prepare(SliceRef slice)
    {
        Interlocked.Increment(ref _prepared);
        var raw = _readers.Value!.Read(slice);
        if (raw.Mask is null) throw new InvalidInputException(slice.ImagePath, "training slice has no mask");
        return _prepare(raw);
    }

    private PreparedSample GetFromDisk(SliceRef slice)
    {
        string path = Path.Combine(_diskFolder!, EntryName(slice));
        if (TryReadEntry(path) is { } hit)
        {
            Interlocked.Increment(ref _hits);
            return hit;
        }
        // A missing, stale or damaged entry is (re)built from the source and replaces what was there.
        var sample = Prepare(slice);
        AtomicFile.Write(path, stream => stream.Write(Encode(sample)));
        return sample;
    }

    /// <summary>
    /// An entry: format version, fingerprint, size, the image, the mask, the intensity classes when
    /// prepared (the fingerprint says whether), then an XxHash3 checksum of everything before it.
    /// </summary>
    private byte[] Encode(PreparedSample sample)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(DiskFormatVersion);
            writer.Write(_fingerprint);
            writer.Write(sample.Size);
            foreach (float v in sample.Image) writer.Write(v);
            writer.Write(sample.Mask);
            if (sample.Classes is not null) writer.Write(sample.Classes);
            writer.Write(XxHash3.HashToUInt64(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// An entry that is unreadable, of another format or fingerprint, fails its checksum (a torn or
    /// corrupted write) or holds non-finite pixels counts as a miss, so it is rebuilt.
    /// </summary>
    private PreparedSample? TryReadEntry(string path)
    {
        byte[] bytes;
        try
        {
            if (!File.Exists(path)) return null;
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (bytes.Length < sizeof(ulong)) return null;
        var payload = bytes.AsSpan(0, bytes.Length - sizeof(ulong));
        if (XxHash3.HashToUInt64(payload) != BitConverter.ToUInt64(bytes, payload.Length)) return null;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, payload.Length));
            if (reader.ReadInt32() != DiskFormatVersion || reader.ReadString() != _fingerprint) return null;
            int size = reader.ReadInt32();
            if (size <= 0 || size > 4096) return null;
            var image = new float[size * size];
            for (int i = 0; i < image.Length; i++)
                if (!float.IsFinite(image[i] = reader.ReadSingle())) return null;
            var mask = reader.ReadBytes(size * size);
            var classes = reader.ReadBytes(size * size);
            if (mask.Length != size * size || (classes.Length != 0 && classes.Length != size * size)) return null;
            return new PreparedSample(image, mask, size, classes.Length == 0 ? null : classes);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }

    /// <summary>
    /// The sources' content (XxHash3 of the image and mask files, hashed once per run) and the slice index: an
    /// edited file gets a new entry whatever its size and modification time. A cut plane's pixels are cut in
    /// memory from its stack, so its entry is keyed by its pixels.
    /// </summary>
    private string EntryName(SliceRef slice)
    {
        string key = $"{ContentHash(slice.ImagePath)}|{(slice.MaskPath is null ? "" : ContentHash(slice.MaskPath))}|{slice.Z}";
        if (slice.Cut is { Plane: var plane } cut)
            key += $"|cut {cut.StackId} {cut.Axis} {plane.Width}x{plane.Height} {plane.SpacingX} {plane.SpacingY} {plane.Orientation}|"
                + XxHash3.HashToUInt64(MemoryMarshal.AsBytes(plane.Image.AsSpan())).ToString("x16")
                + XxHash3.HashToUInt64(plane.Mask ?? []).ToString("x16");
        return Hash(key)[..32] + ".sample";
    }

    private string ContentHash(string file) => _contentHashes.GetOrAdd(Path.GetFullPath(file), path =>
    {
        var hash = new XxHash3();
        using (var stream = File.OpenRead(path)) hash.Append(stream);
        return hash.GetCurrentHashAsUInt64().ToString("x16");
    });

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
}
