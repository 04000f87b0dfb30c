using GreenSeg.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Models;

/// <summary>
/// Saves and loads a model's parameters and buffers (TorchSharp's module format), whatever its compute
/// mode (parameters are always NCHW float32), atomically, with a clear error when the weights do not fit.
/// </summary>
public static class ModelWeights
{
    public static void Save(nn.Module model, string path) =>
        AtomicFile.Write(path, stream =>
        {
            // TorchSharp disposes the writer it wraps around the stream; AtomicFile still needs the stream.
            using var keepOpen = new NonClosingStream(stream);
            model.save(keepOpen);
        });

    public static void Load(nn.Module model, string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "weights file not found");
        try
        {
            model.load(path);
        }
        catch (Exception error) when (error is not GreenSegException)
        {
            throw new InvalidInputException(path, $"cannot load these weights into {model.GetName()}: {error.Message}", error);
        }
    }

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
        protected override void Dispose(bool disposing) => inner.Flush();
    }
}
