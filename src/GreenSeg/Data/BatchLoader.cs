using System.Diagnostics;
using System.Threading.Channels;

namespace GreenSeg.Data;

/// <summary>Writes a (possibly augmented) copy of a prepared sample into a batch's image and mask slots.</summary>
public delegate void SampleWriter(PreparedSample sample, Random random, Span<float> image, Span<float> mask);

/// <summary>
/// Turns a list of slices into shuffled batches, epoch by epoch. The order and every sample's random
/// augmentation depend only on (seed, epoch, position), so a run is reproducible and a resumed run sees
/// the same batches as an uninterrupted one. With prefetch, a background thread prepares the next
/// batches while the model computes; the time the consumer still waits is reported as data wait.
/// </summary>
public sealed class BatchLoader
{
    private readonly IReadOnlyList<SliceRef> _slices;
    private readonly SampleCache _cache;
    private readonly SampleWriter _writer;
    private readonly int _seed;
    private readonly double[]? _cumulativeWeights;

    public int BatchSize { get; }
    /// <summary>Batches prepared ahead by a background thread; 0 prepares each batch when it is asked for.</summary>
    public int PrefetchDepth { get; }
    public int SampleSize { get; }
    /// <summary>This process's shard of every epoch (0 of 1 unless training data parallel).</summary>
    public int Rank { get; }
    public int Ranks { get; } = 1;
    /// <summary>Positions an epoch covers: the slices, padded (by wrapping around) to a multiple of the ranks, so every rank gets as many.</summary>
    private int PaddedCount => (_slices.Count + Ranks - 1) / Ranks * Ranks;
    /// <summary>Steps per epoch: global batches of <see cref="BatchSize"/> x <see cref="Ranks"/> (the same on every rank).</summary>
    public int BatchesPerEpoch => (PaddedCount + BatchSize * Ranks - 1) / (BatchSize * Ranks);
    /// <summary>How long the consumer waited for data during the last epoch.</summary>
    public TimeSpan LastEpochDataWait { get; private set; }

    /// <param name="sliceWeights">
    /// When given, an epoch draws as many slices as there are, with replacement, each with probability
    /// proportional to its weight (to balance stacks or sequences); when null, an epoch is a permutation.
    /// </param>
    /// <param name="shard">
    /// Data parallel: this rank of so many. Every rank shuffles the same (seed, epoch) order; global batch b holds the
    /// positions [b·B·R, (b+1)·B·R) and rank r takes its r-th equal share of them, so the ranks' batches are disjoint and
    /// together are the batch one process with batch B·R would draw (the same slices, the same augmentation).
    /// </param>
    public BatchLoader(IReadOnlyList<SliceRef> slices, SampleCache cache, int batchSize, int sampleSize, int seed, SampleWriter writer, int prefetchDepth,
        IReadOnlyList<double>? sliceWeights = null, (int Rank, int Ranks)? shard = null)
    {
        if (shard is { } s)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(s.Ranks, 1);
            if (s.Rank < 0 || s.Rank >= s.Ranks) throw new ArgumentOutOfRangeException(nameof(shard), $"rank {s.Rank} of {s.Ranks}");
            (Rank, Ranks) = s;
        }
        if (slices.Count == 0) throw new Common.GreenSegException("no training slices: the dataset or split is empty");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (sliceWeights is not null)
        {
            if (sliceWeights.Count != slices.Count) throw new ArgumentException($"{sliceWeights.Count} weights for {slices.Count} slices", nameof(sliceWeights));
            if (sliceWeights.Any(w => !(w >= 0) || !double.IsFinite(w)) || sliceWeights.Sum() <= 0)
                throw new ArgumentException("slice weights must be finite, non-negative and not all zero", nameof(sliceWeights));
            _cumulativeWeights = new double[slices.Count];
            double total = 0;
            for (int i = 0; i < slices.Count; i++) _cumulativeWeights[i] = total += sliceWeights[i];
        }
        _slices = slices;
        _cache = cache;
        BatchSize = batchSize;
        SampleSize = sampleSize;
        _seed = seed;
        _writer = writer;
        PrefetchDepth = Math.Max(0, prefetchDepth);
    }

    /// <summary>Copies samples without augmentation.</summary>
    public static void CopyWriter(PreparedSample sample, Random random, Span<float> image, Span<float> mask)
    {
        sample.Image.CopyTo(image);
        for (int i = 0; i < mask.Length; i++) mask[i] = sample.Mask[i];
    }

    public IEnumerable<HostBatch> Epoch(int epoch, CancellationToken cancellationToken = default)
    {
        int[] order = Shuffled(epoch);
        return PrefetchDepth == 0 ? Synchronous(epoch, order, cancellationToken) : Prefetched(epoch, order, cancellationToken);
    }

    private IEnumerable<HostBatch> Synchronous(int epoch, int[] order, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.Zero;
        for (int b = 0; b < BatchesPerEpoch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long start = Stopwatch.GetTimestamp();
            var batch = Build(epoch, order, b);
            wait += Stopwatch.GetElapsedTime(start);
            LastEpochDataWait = wait;
            yield return batch;
        }
        LastEpochDataWait = wait;
    }

    private IEnumerable<HostBatch> Prefetched(int epoch, int[] order, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<HostBatch>(new BoundedChannelOptions(PrefetchDepth) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                for (int b = 0; b < BatchesPerEpoch; b++)
                    await channel.Writer.WriteAsync(Build(epoch, order, b), stop.Token).ConfigureAwait(false);
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        }, CancellationToken.None);

        var wait = TimeSpan.Zero;
        try
        {
            while (true)
            {
                long start = Stopwatch.GetTimestamp();
                HostBatch? batch = ReadNext(channel.Reader, stop.Token);
                wait += Stopwatch.GetElapsedTime(start);
                LastEpochDataWait = wait;
                if (batch is null) break;
                yield return batch;
            }
        }
        finally
        {
            // Leaving early (break, exception) must not leave the producer blocked on a full channel.
            stop.Cancel();
            try { producer.Wait(CancellationToken.None); } catch (AggregateException) { }
        }
        LastEpochDataWait = wait;
    }

    private static HostBatch? ReadNext(ChannelReader<HostBatch> reader, CancellationToken cancellationToken)
    {
        try
        {
            if (!reader.WaitToReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult()) return null;
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
        return reader.TryRead(out var batch) ? batch : null;
    }

    private HostBatch Build(int epoch, int[] order, int batchIndex)
    {
        int globalStart = batchIndex * BatchSize * Ranks;
        int count = Math.Min(BatchSize * Ranks, PaddedCount - globalStart) / Ranks;
        int start = globalStart + Rank * count;
        int pixels = SampleSize * SampleSize;
        var images = new float[count * pixels];
        var masks = new float[count * pixels];
        for (int i = 0; i < count; i++)
        {
            int position = start + i;
            var sample = _cache.Get(_slices[order[position % order.Length]]);
            if (sample.Size != SampleSize)
                throw new InvalidOperationException($"prepared sample is {sample.Size}x{sample.Size}, loader expects {SampleSize}x{SampleSize}");
            var random = new Random(SeedFor(epoch, position));
            _writer(sample, random, images.AsSpan(i * pixels, pixels), masks.AsSpan(i * pixels, pixels));
        }
        return new HostBatch(images, masks, count, SampleSize);
    }

    private int[] Shuffled(int epoch)
    {
        var random = new Random(SeedFor(epoch, -1));
        if (_cumulativeWeights is { } cumulative)
        {
            double total = cumulative[^1];
            return Enumerable.Range(0, _slices.Count).Select(_ => Draw(cumulative, random.NextDouble() * total)).ToArray();
        }
        var order = Enumerable.Range(0, _slices.Count).ToArray();
        random.Shuffle(order);
        return order;
    }

    /// <summary>The first index whose cumulative weight exceeds u (so zero-weight slices are never drawn).</summary>
    private static int Draw(double[] cumulative, double u)
    {
        int index = Array.BinarySearch(cumulative, u);
        index = index < 0 ? ~index : index + 1;
        while (index < cumulative.Length - 1 && cumulative[index] <= u) index++;
        return Math.Min(index, cumulative.Length - 1);
    }

    private int SeedFor(int epoch, int position) => unchecked((int)Mix((uint)_seed, (uint)epoch, (uint)position));

    /// <summary>A stable integer hash (not HashCode, which is randomised per process).</summary>
    private static uint Mix(uint a, uint b, uint c)
    {
        ulong x = a * 0x9E3779B97F4A7C15UL ^ b * 0xC2B2AE3D27D4EB4FUL ^ c * 0x165667B19E3779F9UL;
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        return (uint)x;
    }
}
