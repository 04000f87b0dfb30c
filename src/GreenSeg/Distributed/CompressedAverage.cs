namespace GreenSeg.Distributed;

/// <summary>
/// Averages a bucket across the ranks with a lossy <see cref="GradientCodec"/>, as Bagua's compressed all-reduce does it:
/// each rank splits its bucket into one chunk per rank and sends chunk j, compressed, to rank j (all-to-all); rank j
/// decodes the chunks it received, averages them in rank order and sends its averaged chunk, compressed again, to every
/// rank (all-gather). Every rank decodes the same bytes, so all end with identical values, and each sends
/// 2(R-1)/R of the compressed bucket, as a ring all-reduce would of the uncompressed one. Error feedback on both
/// compressions: what a compression dropped is added to that bucket's next values, so nothing is lost over the steps.
/// </summary>
public sealed class CompressedAverage(MpiCommunicator world, GradientCodec codec)
{
    /// <summary>A bucket's residuals and work buffers, kept across steps (a bucket has the same length every step).</summary>
    private sealed class BucketState(int chunk, int ranks, int block)
    {
        public float[] SentResidual { get; } = new float[chunk * ranks];
        public float[] AveragedResidual { get; } = new float[chunk];
        public float[] Chunk { get; } = new float[chunk];
        public byte[] Send { get; } = new byte[block * ranks];
        public byte[] Received { get; } = new byte[block * ranks];
        public byte[] Mine { get; } = new byte[block];
        public byte[] All { get; } = new byte[block * ranks];
    }

    private readonly Dictionary<int, BucketState> _buckets = [];

    public GradientCodec Codec { get; } = codec;

    /// <summary>Bytes this rank sent to the others by the last call.</summary>
    public long LastBytesSent { get; private set; }

    /// <summary>Replaces <paramref name="values"/> (bucket number <paramref name="bucket"/>) by their average over the ranks, on every rank.</summary>
    public void Average(int bucket, float[] values)
    {
        int ranks = world.Size, chunk = (values.Length + ranks - 1) / ranks, block = Codec.EncodedBytes(chunk);
        if (!_buckets.TryGetValue(bucket, out var state) || state.Chunk.Length != chunk) _buckets[bucket] = state = new BucketState(chunk, ranks, block);
        float[] work = state.Chunk;
        for (int j = 0; j < ranks; j++)
        {
            Chunk(values, j, chunk, work);
            CompressWithFeedback(work, state.SentResidual.AsSpan(j * chunk, chunk), state.Send.AsSpan(j * block, block));
        }
        world.Alltoall(state.Send, block, state.Received);

        Array.Clear(work);
        for (int r = 0; r < ranks; r++) Codec.DecodeAdd(state.Received.AsSpan(r * block, block), work);
        for (int i = 0; i < chunk; i++) work[i] /= ranks;
        CompressWithFeedback(work, state.AveragedResidual, state.Mine);
        world.Allgather(state.Mine, block, state.All);

        for (int j = 0; j < ranks; j++)
        {
            Array.Clear(work);
            Codec.DecodeAdd(state.All.AsSpan(j * block, block), work);
            int start = j * chunk, length = Math.Min(chunk, values.Length - start);
            if (length > 0) work.AsSpan(0, length).CopyTo(values.AsSpan(start, length));
        }
        LastBytesSent = 2L * (ranks - 1) * block;
    }

    /// <summary>Chunk j of the values, zero-padded to the chunk length.</summary>
    private static void Chunk(float[] values, int j, int chunk, float[] destination)
    {
        Array.Clear(destination);
        int start = j * chunk, length = Math.Min(chunk, values.Length - start);
        if (length > 0) values.AsSpan(start, length).CopyTo(destination);
    }

    /// <summary>Encodes values + residual, and keeps as the new residual what the encoding lost.</summary>
    private void CompressWithFeedback(Span<float> values, Span<float> residual, Span<byte> encoded)
    {
        for (int i = 0; i < values.Length; i++) values[i] += residual[i];
        Codec.Encode(values, encoded);
        residual.Clear();
        Codec.DecodeAdd(encoded, residual);
        for (int i = 0; i < values.Length; i++)
        {
            float lost = values[i] - residual[i];
            residual[i] = float.IsFinite(lost) ? lost : 0f; // a non-finite step is redone, its residual not carried on
        }
    }
}
