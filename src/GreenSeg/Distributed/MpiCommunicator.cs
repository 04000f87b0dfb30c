using System.Text;
using GreenSeg.Common;
using GreenSeg.Training;

namespace GreenSeg.Distributed;

/// <summary>
/// MPI_COMM_WORLD of the processes mpiexec (or srun) started: initialised once per process, finalised on dispose.
/// Run without mpiexec, MPICH initialises a singleton: one rank of one, which trains as a single process would.
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

    public void AllreduceSum(double[] values) =>
        Check(MpiNative.Allreduce(MpiNative.InPlace, values, values.Length, MpiNative.Double, MpiNative.OpSum, MpiNative.CommWorld), "MPI_Allreduce");

    public void AllreduceSum(float[] values, int count) =>
        Check(MpiNative.Allreduce(MpiNative.InPlace, values, count, MpiNative.Float, MpiNative.OpSum, MpiNative.CommWorld), "MPI_Allreduce");

    public void AllreduceMax(double[] values) =>
        Check(MpiNative.Allreduce(MpiNative.InPlace, values, values.Length, MpiNative.Double, MpiNative.OpMax, MpiNative.CommWorld), "MPI_Allreduce");

    public void Broadcast(double[] values) =>
        Check(MpiNative.Bcast(values, values.Length, MpiNative.Double, 0, MpiNative.CommWorld), "MPI_Bcast");

    public void Broadcast(float[] values, int count) =>
        Check(MpiNative.Bcast(values, count, MpiNative.Float, 0, MpiNative.CommWorld), "MPI_Bcast");

    public void Barrier() => Check(MpiNative.Barrier(MpiNative.CommWorld), "MPI_Barrier");

    /// <summary>Ends every rank of the job (MPI_Abort) after this rank's message is on stderr; does not return.</summary>
    public void Abort(string message, int code = 1)
    {
        Console.Error.WriteLine($"rank {Rank} of {Size} ({HostName}): {message}; aborting the job");
        Console.Error.Flush();
        MpiNative.Abort(MpiNative.CommWorld, code);
        Environment.Exit(code);
    }

    /// <summary>Every rank's host name, by rank (fixed-width UTF-8, 256 bytes each).</summary>
    private string[] GatherHostNames()
    {
        const int width = 256;
        var mine = new byte[width];
        Encoding.UTF8.GetBytes(HostName.Length > 200 ? HostName[..200] : HostName).CopyTo(mine, 0);
        var all = new byte[width * Size];
        Check(MpiNative.Allgather(mine, width, MpiNative.Byte, all, width, MpiNative.Byte, MpiNative.CommWorld), "MPI_Allgather");
        return [.. Enumerable.Range(0, Size).Select(r => Encoding.UTF8.GetString(all, r * width, width).TrimEnd('\0'))];
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
