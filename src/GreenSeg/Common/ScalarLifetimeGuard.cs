using System.Runtime;

namespace GreenSeg.Common;

/// <summary>
/// Keeps TorchSharp's temporary Scalars alive while libtorch uses them. TorchSharp 0.107 turns every number
/// given to an op (and every default alpha) into a <c>Scalar</c>, passes its native handle to libtorch and leaves
/// it to its finalizer; a collection started by any thread while the op runs can finalize, and free, it
/// mid-call. On this project's machines that crashed training ("Unknown scalar type", "alpha must not be a
/// floating point number", an internal assert in pow) and can silently give an op a wrong number. Inside
/// <see cref="Enter"/> the runtime does not collect (a no-GC region with a <see cref="Budget"/> of allocations), so
/// the Scalars of a training step or an inference batch are collected between them, when no op is running.
/// Regions are process-wide: threads that enter while one is open share it, and the last to leave ends it.
/// </summary>
public static class ScalarLifetimeGuard
{
    /// <summary>Allocations the process may make inside a region before the runtime collects anyway (and the region ends).</summary>
    public const long Budget = 256L << 20;

    private static readonly Lock Gate = new();
    private static int inside;

    public static IDisposable Enter()
    {
        lock (Gate)
        {
            if (inside++ == 0 && GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
            {
                try
                {
                    GC.TryStartNoGCRegion(Budget);
                }
                catch (InvalidOperationException)
                {
                    // Another region (not ours) is open: it protects this one too.
                }
            }
        }
        return new Region();
    }

    private sealed class Region : IDisposable
    {
        private bool _left;

        public void Dispose()
        {
            lock (Gate)
            {
                if (_left) return;
                _left = true;
                // A region whose budget ran out has already ended (the runtime collected and left it).
                if (--inside == 0 && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
            }
        }
    }
}
