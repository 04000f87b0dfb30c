using GreenSeg.Cli.Commands;
using GreenSeg.Common;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli;

/// <summary>Turns exceptions into one clear line and an exit code; stack traces only for real bugs.</summary>
public static class CliErrors
{
    public const int UsageError = 2;
    public const int InputError = 3;
    public const int InternalError = 70;
    /// <summary>The machine refused a read or write (permissions, a full disk, a file where a folder belongs): sysexits' EX_IOERR.</summary>
    public const int IoError = 74;

    public static int Report(Exception ex)
    {
        switch (ex)
        {
            case CommandAppException { InnerException: UnknownChoiceException choice }:
                // Spectre's own line names a type ("Failed to convert 'x' to Nullable`1"); the converter's names the choices.
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(choice.Message)}");
                return UsageError;
            case CommandAppException app:
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(app.Message)}");
                return UsageError;
            case GreenSegException user:
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(user.Message)}");
                return InputError;
            case UnauthorizedAccessException or IOException:
                // Environmental, not a bug: .NET's message names the path (access denied, no space left, not a directory).
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
                return IoError;
            case OperationCanceledException:
                AnsiConsole.MarkupLine("[yellow]cancelled[/]");
                return 130;
            default:
                AnsiConsole.MarkupLine($"[red]internal error:[/] {Markup.Escape(ex.GetType().Name)}: {Markup.Escape(ex.Message)}");
                AnsiConsole.WriteLine(ex.StackTrace ?? "");
                return InternalError;
        }
    }
}
