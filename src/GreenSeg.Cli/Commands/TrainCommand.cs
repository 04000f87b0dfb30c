using System.ComponentModel;
using GreenSeg.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

/// <summary>Options of <c>greenseg train</c>: the recipe, plus what to train on and where the run goes.</summary>
public sealed class TrainSettings : TrainingRecipeSettings
{
    [CommandOption("--resume <RUN_DIR>")] [Description("Continue a stopped run from its last checkpoint.")]
    public string? Resume { get; init; }

    [CommandOption("--data <PATH>")] [Description("Dataset: E2MIP folder, paired images/ masks/ folder, or .csv.")]
    public string? Data { get; init; }
    [CommandOption("--validation-data <PATH>")] [Description("Explicit validation dataset (default: hold out stacks of --data).")]
    public string? ValidationData { get; init; }

    [CommandOption("-o|--out|--output <DIR>")] [Description("The run folder (default: <output of the config, else runs>/<time>-<model>); --output is the same option, kept for older scripts.")]
    public string? RunFolder { get; init; }

    protected override IEnumerable<GreenSeg.Training.OptionSetting> DataSettings() =>
        new FlagSettings().Add("data", Data).Add("validation-data", ValidationData).Settings;
}

public sealed class TrainCommand : Command<TrainSettings>
{
    public override int Execute(CommandContext context, TrainSettings settings, CancellationToken cancellationToken)
    {
        TrainingResult result;
        if (settings.Resume is not null)
        {
            result = ProgressObserver.Run(observer => Trainer.Resume(settings.Resume, observer, cancellationToken));
        }
        else
        {
            var options = settings.Resolve();
            options.Validate();
            string runFolder = settings.RunFolder ?? Path.Combine(options.Output, $"{DateTime.Now:yyyyMMdd-HHmmss}-{options.Model}");
            result = ProgressObserver.Run(observer => Trainer.Train(options, runFolder, observer, cancellationToken));
        }
        Print(result);
        return 0;
    }

    internal static void Print(TrainingResult result)
    {
        var table = new Table().AddColumns("run", "epochs", "best epoch", "val Dice", "energy", "CO2eq", "time", "stopped");
        table.AddRow(Markup.Escape(result.RunFolder), result.EpochsRun.ToString(), result.BestEpoch.ToString(),
            FormattableString.Invariant($"{result.BestValidationDice:0.0000}"),
            FormattableString.Invariant($"{result.TotalEnergyKj:0.00} kJ ({(result.EnergyEstimated ? "estimated" : "measured")})"),
            FormattableString.Invariant($"{result.Co2Grams:0.0} g"), result.Duration.ToString(@"hh\:mm\:ss"), Markup.Escape(result.StopReason));
        AnsiConsole.Write(table);
    }
}
