using GreenSeg.Cli;
using Spectre.Console;

namespace GreenSeg.Tests.Cli;

/// <summary>Tests that swap Console.Out run one at a time.</summary>
[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>Runs the real greenseg entry point in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int ExitCode, string Output) Run(params string[] args)
    {
        var entryPoint = typeof(CliErrors).Assembly.EntryPoint!;
        var originalOut = Console.Out;
        var originalConsole = AnsiConsole.Console;
        using var output = new StringWriter();
        Console.SetOut(output);
        // Spectre keeps the writer it found first; point it at the capture too.
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        try
        {
            int exitCode = (int)entryPoint.Invoke(null, [args])!;
            return (exitCode, output.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            AnsiConsole.Console = originalConsole;
        }
    }
}
