using System.Runtime.InteropServices;

namespace GreenSeg.Common;

/// <summary>
/// Opening a FIFO (named pipe) for reading blocks until some process writes to it, and a device may never
/// end: every file GreenSeg reads is first checked to be a regular file (symbolic links followed).
/// </summary>
public static class RegularFile
{
    /// <summary>Throws an <see cref="InvalidInputException"/> naming <paramref name="path"/> when it exists and is not a regular file.</summary>
    public static void Require(string path)
    {
        if (FileType(path) is { } type && type != RegularType)
            throw new InvalidInputException(path, $"is not a regular file but a {Describe(type)}; GreenSeg reads only regular files");
    }

    private const uint TypeMask = 0xF000, RegularType = 0x8000;

    private static string Describe(uint type) => type switch
    {
        0x1000 => "FIFO (named pipe)",
        0x2000 => "character device",
        0x6000 => "block device",
        0xC000 => "socket",
        0x4000 => "folder",
        _ => "special file",
    };

    /// <summary>The file-type bits of st_mode, or null where they cannot be read (not Linux, no such file).</summary>
    private static uint? FileType(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        // statx's buffer has one layout on every architecture (stat's differs); stx_mode is the u16 at byte 28.
        var buffer = new byte[256];
        try
        {
            if (Statx(AtCurrentDirectory, path, 0, StatxType, buffer) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
        return BitConverter.ToUInt16(buffer, 28) & TypeMask;
    }

    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 1;

    [DllImport("libc", EntryPoint = "statx", CharSet = CharSet.Ansi, SetLastError = true)]
    private static extern int Statx(int directory, string path, int flags, uint mask, byte[] buffer);
}
