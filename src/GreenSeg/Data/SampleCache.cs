using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using GreenSeg.Common;

namespace GreenSeg.Data;

public enum CacheMode
{
    /// <summary>Read and preprocess every slice every epoch (the study's baseline).</summary>
    None,
    /// <summary>Preprocess once, keep the results in memory for the whole run.</summary>
    Memory,
    /// <summary>Preprocess once, keep the results on disk across runs, keyed by the preprocessing fingerprint.</summary>
    Disk,
}

/// <summary>
/// Gives the prepared (deterministically preprocessed) sample of a slice, doing the work at most once
/// per run (memory) or once per preprocessing configuration (disk). Random augmentation happens after
/// this, every epoch. Thread-safe.
/// </summary>
public sealed class SampleCache
{
    private const int DiskFormatVersion = 1;
    private readonly Func<RawSlice, PreparedSample> _prepare;
    private readonly string _fingerprint;
    private readonly string? _diskFolder;
    private readonly ConcurrentDictionary<SliceRef, PreparedSample> _memory = new();
    private readonly ThreadLocal<SliceReader> _readers = new(() => new SliceReader());
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
        var sample = Prepare(slice);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(DiskFormatVersion);
            writer.Write(_fingerprint);
            writer.Write(sample.Size);
            foreach (float v in sample.Image) writer.Write(v);
            writer.Write(sample.Mask);
            if (sample.Classes is not null) writer.Write(sample.Classes);
        });
        return sample;
    }

    /// <summary>
    /// An entry that is unreadable, of another format or another fingerprint counts as a miss. After the
    /// mask an entry may hold the intensity classes (as many bytes again); the fingerprint says whether
    /// they were prepared, so entries written before classes existed read as they did.
    /// </summary>
    private PreparedSample? TryReadEntry(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (reader.ReadInt32() != DiskFormatVersion || reader.ReadString() != _fingerprint) return null;
            int size = reader.ReadInt32();
            if (size <= 0 || size > 4096) return null;
            var image = new float[size * size];
            for (int i = 0; i < image.Length; i++) image[i] = reader.ReadSingle();
            var mask = reader.ReadBytes(size * size);
            var classes = reader.ReadBytes(size * size);
            if (mask.Length != size * size || (classes.Length != 0 && classes.Length != size * size)) return null;
            return new PreparedSample(image, mask, size, classes.Length == 0 ? null : classes);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The source file's identity (path, length, modification time) and the slice index: an edited file gets a
    /// new entry. A cut plane's pixels are cut in memory from its stack, so its entry is keyed by its pixels.
    /// </summary>
    private static string EntryName(SliceRef slice)
    {
        var image = new FileInfo(slice.ImagePath);
        var mask = new FileInfo(slice.MaskPath ?? slice.ImagePath);
        string key = $"{image.FullName}|{image.Length}|{image.LastWriteTimeUtc.Ticks}|{mask.FullName}|{mask.Length}|{mask.LastWriteTimeUtc.Ticks}|{slice.Z}";
        if (slice.Cut is { Plane: var plane } cut)
            key += $"|cut {cut.StackId} {cut.Axis} {plane.Width}x{plane.Height} {plane.SpacingX} {plane.SpacingY} {plane.Orientation}|"
                + Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(plane.Image.AsSpan())))
                + Convert.ToHexString(SHA256.HashData(plane.Mask ?? []));
        return Hash(key)[..32] + ".sample";
    }

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
}
