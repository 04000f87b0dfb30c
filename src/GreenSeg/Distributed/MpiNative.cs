using System.Runtime.InteropServices;

namespace GreenSeg.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound to MPICH's ABI (<c>libmpich.so.12</c>, Debian's <c>mpich</c>
/// package; handles are ints, their values from MPICH's mpi.h). The library is loaded on the first call, which only a
/// run with <c>distributed: mpi</c> makes. Collectives are the non-blocking MPI-3 ones (MPI_I…), completed by
/// <see cref="Test"/> in a loop, so a rank can give up on a peer that never answers; their buffers are pinned by the caller.
/// </summary>
internal static class MpiNative
{
    private const string Library = "libmpich.so.12";

    public const int CommWorld = 0x44000000;
    public const int Byte = 0x4c00010d;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;
    public const int OpSum = 0x58000003;
    public const int OpMax = 0x58000001;
    public const int ThreadFunneled = 1;
    public const int Success = 0;
    /// <summary>MPI_IN_PLACE is <c>(void*)-1</c> in MPICH.</summary>
    public static readonly nint InPlace = -1;
    /// <summary>MPI_STATUS_IGNORE is <c>(MPI_Status*)1</c> in MPICH.</summary>
    public static readonly nint StatusIgnore = 1;

    [DllImport(Library, EntryPoint = "MPI_Init_thread")]
    public static extern int InitThread(nint argc, nint argv, int required, out int provided);

    [DllImport(Library, EntryPoint = "MPI_Finalized")]
    public static extern int Finalized(out int flag);

    [DllImport(Library, EntryPoint = "MPI_Finalize")]
    public static extern int Finalize();

    [DllImport(Library, EntryPoint = "MPI_Comm_rank")]
    public static extern int CommRank(int comm, out int rank);

    [DllImport(Library, EntryPoint = "MPI_Comm_size")]
    public static extern int CommSize(int comm, out int size);

    [DllImport(Library, EntryPoint = "MPI_Ibarrier")]
    public static extern int Ibarrier(int comm, out int request);

    [DllImport(Library, EntryPoint = "MPI_Ibcast")]
    public static extern int Ibcast(nint buffer, int count, int datatype, int root, int comm, out int request);

    [DllImport(Library, EntryPoint = "MPI_Iallreduce")]
    public static extern int Iallreduce(nint sendBuffer, nint receiveBuffer, int count, int datatype, int op, int comm, out int request);

    [DllImport(Library, EntryPoint = "MPI_Iallgather")]
    public static extern int Iallgather(nint sendBuffer, int sendCount, int sendType, nint receiveBuffer, int receiveCount, int receiveType, int comm, out int request);

    [DllImport(Library, EntryPoint = "MPI_Ialltoall")]
    public static extern int Ialltoall(nint sendBuffer, int sendCount, int sendType, nint receiveBuffer, int receiveCount, int receiveType, int comm, out int request);

    [DllImport(Library, EntryPoint = "MPI_Test")]
    public static extern int Test(ref int request, out int flag, nint status);

    [DllImport(Library, EntryPoint = "MPI_Abort")]
    public static extern int Abort(int comm, int errorCode);
}
