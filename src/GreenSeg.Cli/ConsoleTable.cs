using Spectre.Console;

namespace GreenSeg.Cli;

/// <summary>Prints a table: a Spectre table on a terminal, plain aligned lines when redirected or under CI.</summary>
public static class ConsoleTable
{
    public static bool Plain =>
        Console.IsOutputRedirected || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <param name="rightAligned">Indices of numeric columns.</param>
    public static void Write(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, params int[] rightAligned)
    {
        var data = rows.ToList();
        if (Plain)
        {
            var widths = headers.Select((h, i) => Math.Max(h.Length, data.Count == 0 ? 0 : data.Max(r => r[i].Length))).ToArray();
            string Line(IReadOnlyList<string> cells) => string.Join("  ", cells.Select((c, i) =>
                rightAligned.Contains(i) ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
            Console.WriteLine(Line(headers));
            foreach (var row in data) Console.WriteLine(Line(row));
            return;
        }
        var table = new Table();
        for (int i = 0; i < headers.Count; i++)
        {
            var column = new TableColumn(Markup.Escape(headers[i]));
            if (rightAligned.Contains(i)) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var row in data) table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
    }

    /// <summary>A line of text outside a table (no markup).</summary>
    public static void Line(string text)
    {
        if (Plain) Console.WriteLine(text);
        else AnsiConsole.WriteLine(text);
    }
}
