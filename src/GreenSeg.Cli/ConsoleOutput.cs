namespace GreenSeg.Cli;

/// <summary>Whether to print plain lines instead of tables and live widgets.</summary>
public static class ConsoleOutput
{
    /// <summary>True when output goes to a file or pipe, or under CI (CI=true), where markup would be noise.</summary>
    public static bool Plain =>
        Console.IsOutputRedirected || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}
