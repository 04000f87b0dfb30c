using System.Runtime.InteropServices;

namespace GreenSeg.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound to MPICH's ABI (<c>libmpich.so.12</c>, Debian's <c>mpich</c>
/// package; handles are ints, their values from MPICH's mpi.h). The library is loaded on the first call, which only a
/// run with <c>distributed: mpi</c> makes. Arrays are blittable: the marshaller pins them for the call.
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

    [DllImport(Library, EntryPoint = "MPI_Init_thread")]
    public static extern int InitThread(nint argc, nint argv, int required, out int provided);

    [DllImport(Library, EntryPoint = "MPI_Initialized")]
    public static extern int Initialized(out int flag);

    [DllImport(Library, EntryPoint = "MPI_Finalized")]
    public static extern int Finalized(out int flag);

    [DllImport(Library, EntryPoint = "MPI_Finalize")]
    public static extern int Finalize();

    [DllImport(Library, EntryPoint = "MPI_Comm_rank")]
    public static extern int CommRank(int comm, out int rank);

    [DllImport(Library, EntryPoint = "MPI_Comm_size")]
    public static extern int CommSize(int comm, out int size);

    [DllImport(Library, EntryPoint = "MPI_Barrier")]
    public static extern int Barrier(int comm);

    [DllImport(Library, EntryPoint = "MPI_Bcast")]
    public static extern int Bcast([In, Out] float[] buffer, int count, int datatype, int root, int comm);

    [DllImport(Library, EntryPoint = "MPI_Bcast")]
    public static extern int Bcast([In, Out] double[] buffer, int count, int datatype, int root, int comm);

    [DllImport(Library, EntryPoint = "MPI_Allreduce")]
    public static extern int Allreduce(nint sendBuffer, [In, Out] float[] receiveBuffer, int count, int datatype, int op, int comm);

    [DllImport(Library, EntryPoint = "MPI_Allreduce")]
    public static extern int Allreduce(nint sendBuffer, [In, Out] double[] receiveBuffer, int count, int datatype, int op, int comm);

    [DllImport(Library, EntryPoint = "MPI_Allgather")]
    public static extern int Allgather([In] byte[] sendBuffer, int sendCount, int sendType, [In, Out] byte[] receiveBuffer, int receiveCount, int receiveType, int comm);

    [DllImport(Library, EntryPoint = "MPI_Abort")]
    public static extern int Abort(int comm, int errorCode);
}
