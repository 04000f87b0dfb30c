using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using GreenSeg.Common;
using GreenSeg.Training;

namespace GreenSeg.Distributed;

/// <summary>
/// MPI_COMM_WORLD of the processes mpiexec (or srun) started: initialised once per process, finalised on dispose.
/// Run without mpiexec, MPICH initialises a singleton: one rank of one, which trains as a single process would.
/// Every collective waits at most <see cref="CollectiveTimeout"/> for the other ranks; past it, this rank aborts the
/// whole job with a message naming the call, so a rank that hangs (or is stopped) does not leave the others waiting forever.
/// </summary>
public sealed class MpiCommunicator : IProcessGroup, IDisposable
{
    private static MpiCommunicator? _world;
    private bool _disposed;

    public int Rank { get; }
    public int Size { get; }
    public bool FirstOnHost { get; }
    public string HostName { get; }
    /// <summary>Distinct hosts the ranks run on.</summary>
    public int Hosts { get; }
    /// <summary>How long a collective waits for the other ranks (a run sets its <c>parallel: collective-timeout</c>).</summary>
    public TimeSpan CollectiveTimeout { get; set; } = TimeSpan.FromMinutes(10);

    private MpiCommunicator()
    {
        Check(MpiNative.InitThread(0, 0, MpiNative.ThreadFunneled, out _), "MPI_Init_thread");
        Check(MpiNative.CommRank(MpiNative.CommWorld, out int rank), "MPI_Comm_rank");
        Check(MpiNative.CommSize(MpiNative.CommWorld, out int size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
        HostName = Environment.MachineName;
        var hosts = GatherHostNames();
        FirstOnHost = Array.IndexOf(hosts, HostName) == Rank;
        Hosts = hosts.Distinct(StringComparer.Ordinal).Count();
    }

    /// <summary>The world communicator, initialising MPI on the first call (libmpich.so.12 must be installed).</summary>
    public static MpiCommunicator World()
    {
        if (_world is not null) return _world;
        try
        {
            return _world = new MpiCommunicator();
        }
        catch (DllNotFoundException e)
        {
            throw new GreenSegException($"distributed: mpi needs MPICH's libmpich.so.12 (Debian: apt-get install mpich): {e.Message}");
        }
    }

    public void AllreduceSum(double[] values) => Allreduce(values, values.Length, MpiNative.Double, MpiNative.OpSum);

    public void AllreduceSum(float[] values, int count) => Allreduce(values, count, MpiNative.Float, MpiNative.OpSum);

    public void AllreduceMax(double[] values) => Allreduce(values, values.Length, MpiNative.Double, MpiNative.OpMax);

    public void Broadcast(double[] values) => Broadcast(values, values.Length, MpiNative.Double);

    public void Broadcast(float[] values, int count) => Broadcast(values, count, MpiNative.Float);

    /// <summary>Every rank's <paramref name="mine"/> (all of one length), concatenated by rank into <paramref name="all"/>.</summary>
    public void Allgather(byte[] mine, int count, byte[] all)
    {
        using var send = Pin(mine);
        using var receive = Pin(all);
        Check(MpiNative.Iallgather(send.Address, count, MpiNative.Byte, receive.Address, count, MpiNative.Byte, MpiNative.CommWorld, out int request), "MPI_Iallgather");
        Wait(request, "MPI_Iallgather");
    }

    /// <summary>Block j of <paramref name="send"/> (each <paramref name="count"/> bytes) goes to rank j; block r of <paramref name="receive"/> came from rank r.</summary>
    public void Alltoall(byte[] send, int count, byte[] receive)
    {
        using var sendPin = Pin(send);
        using var receivePin = Pin(receive);
        Check(MpiNative.Ialltoall(sendPin.Address, count, MpiNative.Byte, receivePin.Address, count, MpiNative.Byte, MpiNative.CommWorld, out int request), "MPI_Ialltoall");
        Wait(request, "MPI_Ialltoall");
    }

    public void Barrier()
    {
        Check(MpiNative.Ibarrier(MpiNative.CommWorld, out int request), "MPI_Ibarrier");
        Wait(request, "MPI_Ibarrier");
    }

    /// <summary>Ends every rank of the job (MPI_Abort) after this rank's message is on stderr; does not return.</summary>
    public void Abort(string message, int code = 1)
    {
        Console.Error.WriteLine($"rank {Rank} of {Size} ({HostName}): {message}; aborting the job");
        Console.Error.Flush();
        MpiNative.Abort(MpiNative.CommWorld, code);
        Environment.Exit(code);
    }

    private void Allreduce(Array values, int count, int datatype, int op)
    {
        using var buffer = Pin(values);
        Check(MpiNative.Iallreduce(MpiNative.InPlace, buffer.Address, count, datatype, op, MpiNative.CommWorld, out int request), "MPI_Iallreduce");
        Wait(request, "MPI_Iallreduce");
    }

    private void Broadcast(Array values, int count, int datatype)
    {
        using var buffer = Pin(values);
        Check(MpiNative.Ibcast(buffer.Address, count, datatype, 0, MpiNative.CommWorld, out int request), "MPI_Ibcast");
        Wait(request, "MPI_Ibcast");
    }

    /// <summary>
    /// Drives the request to completion: spins briefly (a collective between busy ranks usually ends within microseconds),
    /// then polls every millisecond, so a rank waiting for a slower one does not hold a core.
    /// </summary>
    private void Wait(int request, string call)
    {
        var clock = Stopwatch.StartNew();
        for (int polls = 0; ; polls++)
        {
            Check(MpiNative.Test(ref request, out int done, MpiNative.StatusIgnore), "MPI_Test");
            if (done != 0) return;
            if (clock.Elapsed > CollectiveTimeout)
                Abort(FormattableString.Invariant($"{call}: the other ranks did not answer within {CollectiveTimeout.TotalSeconds:0} s (collective-timeout): a rank hung, was stopped or died"));
            if (polls < 2000) Thread.SpinWait(20);
            else Thread.Sleep(1);
        }
    }

    /// <summary>Every rank's host name, by rank (fixed-width UTF-8, 256 bytes each).</summary>
    private string[] GatherHostNames()
    {
        const int width = 256;
        var mine = new byte[width];
        Encoding.UTF8.GetBytes(HostName.Length > 200 ? HostName[..200] : HostName).CopyTo(mine, 0);
        var all = new byte[width * Size];
        Allgather(mine, width, all);
        return [.. Enumerable.Range(0, Size).Select(r => Encoding.UTF8.GetString(all, r * width, width).TrimEnd('\0'))];
    }

    private static PinnedBuffer Pin(Array array) => new(GCHandle.Alloc(array, GCHandleType.Pinned));

    /// <summary>An array held in place while MPI reads or writes it (a non-blocking call outlives the P/Invoke's own pinning).</summary>
    private readonly struct PinnedBuffer(GCHandle handle) : IDisposable
    {
        public nint Address => handle.AddrOfPinnedObject();

        public void Dispose() => handle.Free();
    }

    private static void Check(int code, string call)
    {
        if (code != MpiNative.Success) throw new GreenSegException($"{call} failed with MPI error {code}");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (MpiNative.Finalized(out int finalized) == MpiNative.Success && finalized == 0) MpiNative.Finalize();
        _world = null;
    }
}
