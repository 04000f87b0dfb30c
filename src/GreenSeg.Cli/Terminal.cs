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

    /// <summary>Adds a row of plain text: file and stack names may hold [ and ], which Table.AddRow(string) reads as markup.</summary>
    public static Table AddTextRow(this Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => new Text(c)).ToArray<Spectre.Console.Rendering.IRenderable>());
}
