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
    private readonly Dictionary<int, float[]> _sentResidual = [], _averagedResidual = [];

    public GradientCodec Codec { get; } = codec;

    /// <summary>Bytes this rank sent to the others by the last call.</summary>
    public long LastBytesSent { get; private set; }

    /// <summary>Replaces <paramref name="values"/> (bucket number <paramref name="bucket"/>) by their average over the ranks, on every rank.</summary>
    public void Average(int bucket, float[] values)
    {
        int ranks = world.Size, chunk = (values.Length + ranks - 1) / ranks, block = Codec.EncodedBytes(chunk);
        var send = new byte[block * ranks];
        float[] sentResidual = Residual(_sentResidual, bucket, chunk * ranks);
        var padded = new float[chunk];
        for (int j = 0; j < ranks; j++)
        {
            Chunk(values, j, chunk, padded);
            CompressWithFeedback(padded, sentResidual.AsSpan(j * chunk, chunk), send.AsSpan(j * block, block));
        }
        var received = new byte[block * ranks];
        world.Alltoall(send, block, received);

        var average = new float[chunk];
        for (int r = 0; r < ranks; r++) Codec.DecodeAdd(received.AsSpan(r * block, block), average);
        for (int i = 0; i < chunk; i++) average[i] /= ranks;
        var mine = new byte[block];
        CompressWithFeedback(average, Residual(_averagedResidual, bucket, chunk), mine);
        var all = new byte[block * ranks];
        world.Allgather(mine, block, all);

        var decoded = new float[chunk];
        for (int j = 0; j < ranks; j++)
        {
            Array.Clear(decoded);
            Codec.DecodeAdd(all.AsSpan(j * block, block), decoded);
            int start = j * chunk, length = Math.Min(chunk, values.Length - start);
            if (length > 0) decoded.AsSpan(0, length).CopyTo(values.AsSpan(start, length));
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

    private static float[] Residual(Dictionary<int, float[]> residuals, int bucket, int length)
    {
        if (!residuals.TryGetValue(bucket, out var residual) || residual.Length != length) residuals[bucket] = residual = new float[length];
        return residual;
    }
}
