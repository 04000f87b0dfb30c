using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Phantom;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class DemoSettings : EnergySettings
{
    [CommandOption("--out <DIR>")]
    [Description("A new folder for the phantom, the run, the predictions and the summary (default runs/demo-<time>).")]
    public string? Out { get; init; }

    [CommandOption("--seed <S>")]
    [Description("Seed of the phantom and of training.")]
    [DefaultValue(PhantomOptions.DefaultSeed)]
    public int Seed { get; init; } = PhantomOptions.DefaultSeed;

    [CommandOption("-e|--epochs <N>")]
    [Description("Training epochs (the default fits the demo in a few minutes on a 2-core CPU).")]
    [DefaultValue(Demo.DefaultEpochs)]
    public int Epochs { get; init; } = Demo.DefaultEpochs;

    [CommandOption("--threads <N>")]
    [Description("libtorch threads (0: libtorch's default).")]
    [DefaultValue(0)]
    public int Threads { get; init; }

    public override ValidationResult Validate() =>
        Epochs < 1 ? ValidationResult.Error("--epochs must be at least 1") : base.Validate();
}

/// <summary>`greenseg demo`: phantom → green training → predictions → evaluation, with Dice, time and energy.</summary>
public sealed class DemoCommand : Command<DemoSettings>
{
    public override int Execute(CommandContext context, DemoSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var green = Demo.Recipe(settings.Seed, settings.Epochs);
        var recipe = green with
        {
            Compute = green.Compute with { Threads = settings.Threads },
            // The training run adds its own device's GPU.
            Energy = settings.ToEnergyOptions() with { GpuIndices = [] },
        };
        string output = settings.Out ?? Path.Combine("runs", $"demo-{DateTime.Now:yyyyMMdd-HHmmss}");
        ConsoleTable.Line($"demo: writing a fresh phantom (seed {settings.Seed}: 6 training stacks, 3 test stacks with exact masks) to {Path.GetFullPath(output)}");
        var options = Demo.Prepare(output, settings.Seed, recipe, cancellationToken: cancellationToken);
        ConsoleTable.Line(FormattableString.Invariant($"phantom written in {clock.Elapsed.TotalSeconds:0.0} s; green recipe: {recipe.Model}, {recipe.Preprocessing.Size}x{recipe.Preprocessing.Size} at {recipe.Preprocessing.Spacing} mm, {recipe.Schedule.Epochs} epochs, {ChoiceNames.Name(recipe.Optimisation.Optimizer)}, {ChoiceNames.Name(recipe.Compute.Precision)}{(recipe.Compute.ChannelsLast ? ", channels-last" : "")}"));
        var result = E2mipConsole.Run(options, cancellationToken);
        ConsoleTable.Line(string.Create(CultureInfo.InvariantCulture,
            $"demo done in {clock.Elapsed.TotalSeconds:0} s: mean test Dice {result.MeanDice:0.0000}, {result.TotalKilojoules:0.00} kJ ({(result.TotalEstimated ? "estimated" : "measured")}) for training and inference"));
        return E2mipConsole.ExitCode(result);
    }
}
