using System.ComponentModel;
using GreenSeg.Distributed;
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
        var parallel = ParallelSettings(settings);
        if (parallel.Distributed == DistributedMode.Mpi) return ExecuteDistributed(settings, parallel, cancellationToken);
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

    /// <summary>
    /// One rank of <c>mpiexec -n N greenseg train ... --distributed mpi</c>: every rank trains, rank 0 alone shows progress and
    /// writes the run. An exception on any rank aborts the whole job (MPI_Abort) with its message, so no rank waits forever.
    /// </summary>
    private static int ExecuteDistributed(TrainSettings settings, ParallelSection parallel, CancellationToken cancellationToken)
    {
        var world = MpiCommunicator.World();
        world.CollectiveTimeout = TimeSpan.FromSeconds(parallel.CollectiveTimeout);
        TrainingResult result;
        try
        {
            var hook = new DataParallelHook(world, parallel);
            Func<ITrainingObserver?, TrainingResult> work;
            if (settings.Resume is { } resume)
                work = observer => Trainer.Resume(resume, observer, cancellationToken, new TrainingPlugins { Hooks = [hook], Group = world });
            else
            {
                var options = settings.Resolve().Validate();
                // Every rank must name the same run folder: rank 0's clock names it.
                double[] now = [DateTimeOffset.Now.ToUnixTimeSeconds()];
                world.Broadcast(now);
                string runFolder = settings.RunFolder ?? Path.Combine(options.Output, $"{DateTimeOffset.FromUnixTimeSeconds((long)now[0]).LocalDateTime:yyyyMMdd-HHmmss}-{options.Model}");
                work = observer => Trainer.Train(options, runFolder, observer, cancellationToken, new TrainingPlugins { Hooks = [hook], Group = world });
            }
            result = world.Rank == 0 ? ProgressObserver.Run(observer => work(observer)) : work(null);
        }
        catch (Exception e) when (world.Size > 1)
        {
            world.Abort(e is GreenSeg.Common.GreenSegException ? e.Message : e.ToString());
            throw;
        }
        world.Dispose();
        if (world.Rank == 0) Print(result);
        return 0;
    }

    /// <summary>The parallel: section of the run: the flags over the config (a resumed run's own config.yaml).</summary>
    private static ParallelSection ParallelSettings(TrainSettings settings)
    {
        if (settings.Resume is null) return settings.Resolve().Parallel;
        string config = Path.Combine(settings.Resume, "config.yaml");
        var saved = File.Exists(config) ? TrainingOptions.Load(config).Parallel : new ParallelSection();
        return saved with
        {
            Distributed = settings.Distributed ?? saved.Distributed,
            GradCompression = settings.GradCompression ?? saved.GradCompression,
            SyncEvery = settings.SyncEvery ?? saved.SyncEvery,
            SyncBatchNorm = settings.SyncBatchNorm || saved.SyncBatchNorm,
            CollectiveTimeout = settings.CollectiveTimeout ?? saved.CollectiveTimeout,
        };
    }

    internal static void Print(TrainingResult result)
    {
        var table = new Table().AddColumns("run", "epochs", "best epoch", "val Dice", "energy", "CO2eq", "time", "stopped");
        table.AddRow(Markup.Escape(result.RunFolder), result.EpochsRun.ToString(), result.BestEpoch.ToString(),
            // A final run holds nothing out, so it has no validation Dice to show (NaN in the result).
            double.IsNaN(result.BestValidationDice) ? "none held out" : FormattableString.Invariant($"{result.BestValidationDice:0.0000}"),
            FormattableString.Invariant($"{result.TotalEnergyKj:0.00} kJ ({(result.EnergyEstimated ? "estimated" : "measured")})"),
            FormattableString.Invariant($"{result.Co2Grams:0.0} g"), result.Duration.ToString(@"hh\:mm\:ss"), Markup.Escape(result.StopReason));
        AnsiConsole.Write(table);
    }
}
