using System.ComponentModel;
using System.Globalization;
using GreenSeg.Compression;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GreenSeg.Cli.Commands;

public sealed class CompressPruneSettings : CommandSettings
{
    [CommandArgument(0, "<RUN>")]
    [Description("A training run folder: its best checkpoint is pruned, its config.yaml fine-tunes.")]
    public string Run { get; init; } = "";

    [CommandOption("--sparsity <SHARE>")]
    [Description("Share pruned: of all convolution weights set to zero (magnitude: the smallest first), or of each block's internal channels removed (l1-channels: the smallest L1 norms first).")]
    public double Sparsity { get; init; }

    [CommandOption("--method <METHOD>")]
    [Description("magnitude: unstructured global magnitude pruning (zeros, same shapes); l1-channels: structured L1-norm pruning of the blocks' internal channels (a narrower model: fewer parameters, MACs and seconds).")]
    [TypeConverter(typeof(ChoiceConverter<PruningMethod>))]
    [ChoiceDefault<PruningMethod>(PruningMethod.Magnitude)]
    public PruningMethod Method { get; init; } = PruningMethod.Magnitude;

    [CommandOption("--iterations <K>")]
    [Description("Prune in K steps (to sparsity·k/K), fine-tuning after each.")]
    [DefaultValue(1)]
    public int Iterations { get; init; } = 1;

    [CommandOption("--finetune-epochs <N>")]
    [Description("Epochs of fine-tuning after each step on the run's data and recipe; the pruned weights stay zero. 0: prune once, no training.")]
    [DefaultValue(0)]
    public int FinetuneEpochs { get; init; }

    [CommandOption("-o|--out <DIR>")]
    [Description("Where the pruned model (model.pt, model.json: segment --model DIR), pruning.json and the fine-tuning runs go.")]
    public string? Out { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out DIR is required") : ValidationResult.Success();
}

/// <summary>greenseg compress prune: global magnitude or structured L1 channel pruning, optionally iterative with fine-tuning.</summary>
public sealed class CompressPruneCommand : Command<CompressPruneSettings>
{
    public override int Execute(CommandContext context, CompressPruneSettings settings, CancellationToken cancellationToken)
    {
        var options = new PruneOptions
        {
            Run = settings.Run,
            Sparsity = settings.Sparsity,
            Method = settings.Method,
            Output = settings.Out!,
            Iterations = settings.Iterations,
            FinetuneEpochs = settings.FinetuneEpochs,
        }.Validate();
        var result = ProgressObserver.Run(observer => Pruning.Run(options, observer, cancellationToken));
        string what = result.Method == PruningMethod.Magnitude ? "of the convolution weights zero" : "of the internal channels removed";
        foreach (var step in result.Steps)
            ConsoleTable.Line(FormattableString.Invariant($"step {step.Iteration}: {step.Sparsity:P1} {what}") +
                (step.FineTuning is { } tuned ? FormattableString.Invariant($", then {tuned.EpochsRun} epochs of fine-tuning ({tuned.TotalEnergyKj:0.00} kJ{(tuned.EnergyEstimated ? ", estimated" : "")})") : ""));
        var size = result.Size;
        ConsoleTable.Line(FormattableString.Invariant($"parameters {size.ParametersBefore:N0} -> {size.ParametersAfter:N0}, MACs per {size.SliceSize}x{size.SliceSize} slice {size.MacsBefore / 1e9:0.###} G -> {size.MacsAfter / 1e9:0.###} G"));
        ConsoleTable.Line($"pruned model: {result.Checkpoint} (segment --model {Path.GetDirectoryName(result.Checkpoint)})");
        return 0;
    }
}
