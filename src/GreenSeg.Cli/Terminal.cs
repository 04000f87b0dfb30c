using Spectre.Console;

namespace GreenSeg.Cli;

/// <summary>Whether to draw live progress, or print plain lines (redirected output, CI=true).</summary>
public static class Terminal
{
    public static bool IsInteractive =>
        !Console.IsOutputRedirected
        && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
        && AnsiConsole.Profile.Capabilities.Interactive;

    public static string Percent(double fraction) => FormattableString.Invariant($"{fraction * 100:0.0}%");
}
