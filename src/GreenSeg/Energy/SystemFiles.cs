namespace GreenSeg.Energy;

/// <summary>
/// Reads small kernel files (/sys, /proc). The reader is injectable so tests can make a file
/// unreadable: running as root, chmod 000 does not stop a read, so permissions cannot be
/// simulated with real files there.
/// </summary>
public static class SystemFiles
{
    public static readonly Func<string, string> DefaultReader = ReadText;

    /// <summary>
    /// Reads a whole file with one handle and no stream or decoder set-up: kernel files are small and
    /// read on every sample, so File.ReadAllText's overhead would be most of the sampler's cost.
    /// Sizes are not trusted (sysfs reports 4096 for everything), so it reads until end of file.
    /// </summary>
    public static string ReadText(string path)
    {
        using var handle = File.OpenHandle(path);
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    byte[] larger = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
                if (read == 0) break;
                length += read;
            }
            return System.Text.Encoding.UTF8.GetString(buffer, 0, length);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads a file, or explains in a few words why it cannot be read.</summary>
    public static bool TryRead(Func<string, string> reader, string path, out string text, out string problem)
    {
        try
        {
            text = reader(path);
            problem = "";
            return true;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            problem = "missing";
        }
        catch (UnauthorizedAccessException)
        {
            // Also what .NET reports when a directory stands where a file is expected.
            problem = "not readable (permission denied or not a regular file)";
        }
        catch (IOException ex)
        {
            problem = $"read failed ({ex.Message})";
        }
        text = "";
        return false;
    }

    /// <summary>Reads a file holding one unsigned integer (sysfs counters).</summary>
    public static bool TryReadUInt64(Func<string, string> reader, string path, out ulong value, out string problem)
    {
        value = 0;
        if (!TryRead(reader, path, out string text, out problem)) return false;
        if (ulong.TryParse(text.Trim(), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out value))
            return true;
        problem = $"unparsable value '{Truncate(text.Trim())}'";
        return false;
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
