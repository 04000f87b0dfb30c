using System.Globalization;
using System.Runtime.Serialization;
using GreenSeg.Common;
using GreenSeg.Training;

namespace GreenSeg.Tuning;

/// <summary>How a searched option's values are drawn (the search file's <c>{kind: [...]}</c>).</summary>
public enum DistributionKind
{
    /// <summary>A real number, uniform between the bounds.</summary>
    [EnumMember(Value = "uniform")] Uniform,
    /// <summary>A real number whose logarithm is uniform between the bounds' (both positive): learning rates, weight decay.</summary>
    [EnumMember(Value = "log-uniform")] LogUniform,
    /// <summary>A whole number, each from low to high (both included) equally likely.</summary>
    [EnumMember(Value = "int")] IntRange,
    /// <summary>One of the listed values, each equally likely.</summary>
    [EnumMember(Value = "choice")] Choice,
}

/// <summary>The values one searched option takes: a range (uniform, log-uniform, int) or a list (choice).</summary>
public sealed record ParameterDistribution
{
    public required DistributionKind Kind { get; init; }
    public double Low { get; init; }
    public double High { get; init; }
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>A value drawn from <paramref name="random"/>, as the text a config would hold.</summary>
    public string Sample(DeterministicRandom random) => Kind switch
    {
        DistributionKind.Choice => Choices[random.NextInt(0, Choices.Count - 1)],
        DistributionKind.IntRange => random.NextInt((int)Low, (int)High).ToString(CultureInfo.InvariantCulture),
        DistributionKind.LogUniform => Number(Math.Exp(random.Uniform(Math.Log(Low), Math.Log(High)))),
        _ => Number(random.Uniform(Low, High)),
    };

    /// <summary>Values that show whether the option takes this distribution's values: every choice, or a range's bounds and middle.</summary>
    public IEnumerable<string> Probes() => Kind switch
    {
        DistributionKind.Choice => Choices,
        DistributionKind.IntRange => [Integer(Low), Integer(High), Integer(Math.Floor((Low + High) / 2))],
        DistributionKind.LogUniform => [Number(Low), Number(High), Number(Math.Sqrt(Low * High))],
        _ => [Number(Low), Number(High), Number((Low + High) / 2)],
    };

    /// <summary>Four significant digits (0.0004317), as a person would write it; the exact value when rounding would leave the range.</summary>
    private string Number(double value)
    {
        string text = value.ToString("G4", CultureInfo.InvariantCulture);
        double rounded = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return rounded >= Low && rounded <= High ? text : value.ToString("R", CultureInfo.InvariantCulture);
    }

    private static string Integer(double value) => ((int)value).ToString(CultureInfo.InvariantCulture);

    public override string ToString() => Kind == DistributionKind.Choice
        ? $"{ChoiceNames.Name(Kind)} [{string.Join(", ", Choices)}]"
        : string.Create(CultureInfo.InvariantCulture, $"{ChoiceNames.Name(Kind)} [{Low}, {High}]");
}

/// <summary>One searched training option: its key (as a config or <c>--set</c> writes it) and its distribution.</summary>
public sealed record SearchParameter(string Key, ParameterDistribution Distribution);

/// <summary>What a rung measures a trial's training in.</summary>
public enum RungUnit
{
    /// <summary>Epochs trained (the rung's trials have all trained as many epochs).</summary>
    [EnumMember(Value = "epochs")] Epochs,
    /// <summary>Energy spent by the trial's epochs, in kJ (the rung's trials have all been given as much energy).</summary>
    [EnumMember(Value = "kJ")] Kilojoules,
}

/// <summary>
/// The rungs of successive halving: min, min·η, min·η², … while below max, then max. Every trial is configured as the full
/// run (its schedule's horizon is max-epochs, or the base recipe's epochs when rungs are in kJ) and paused at each rung
/// (<see cref="TrainingPause"/>), so a rung's result is the full run observed at that point, whatever its LR policy.
/// </summary>
public sealed record RungLadder(RungUnit Unit, double Min, double Max, int Eta)
{
    public const int DefaultEta = 3;

    /// <summary>The rungs' resources, ascending; the last is <see cref="Max"/>.</summary>
    public IReadOnlyList<double> Resources
    {
        get
        {
            var rungs = new List<double>();
            for (double r = Min; r < Max * (1 - 1e-9); r *= Eta) rungs.Add(Unit == RungUnit.Epochs ? Math.Round(r) : r);
            rungs.Add(Max);
            return rungs;
        }
    }

    public int Count => Resources.Count;

    public int TopRung => Count - 1;

    /// <summary>Where a trial heading for rung <paramref name="rung"/> pauses.</summary>
    public TrainingPause PauseAt(int rung) => Unit == RungUnit.Epochs
        ? TrainingPause.Epochs((int)Resources[rung])
        : TrainingPause.Kilojoules(Resources[rung]);

    public string Format(double resource) => Format(Unit, resource);

    /// <summary>"1 epoch", "4 epochs", "2.5 kJ".</summary>
    public static string Format(RungUnit unit, double resource) => unit == RungUnit.Epochs
        ? string.Create(CultureInfo.InvariantCulture, $"{resource:0} epoch{(resource == 1 ? "" : "s")}")
        : string.Create(CultureInfo.InvariantCulture, $"{resource:0.###} kJ");

    public override string ToString() =>
        $"rungs {string.Join(", ", Resources.Select(Format))} (η = {Eta})";
}

/// <summary>
/// A search as its YAML file gives it: the base recipe (training options every trial starts from), the searched
/// options with their distributions, and the rungs. <see cref="Text"/> is the file itself, which a tune folder keeps
/// so that a resumed search is the same search.
/// </summary>
public sealed record SearchSpace
{
    public required string Name { get; init; }
    /// <summary>The file (or text) it came from, for messages.</summary>
    public required string Source { get; init; }
    public required string Text { get; init; }
    /// <summary>Training options every trial shares, applied to the default recipe before the trial's own.</summary>
    public IReadOnlyList<OptionSetting> Base { get; init; } = [];
    public IReadOnlyList<SearchParameter> Parameters { get; init; } = [];
    public required RungLadder Rungs { get; init; }

    /// <summary>
    /// A trial's training options: the default recipe on <paramref name="data"/>, the base settings, the schedule's
    /// horizon (max-epochs when rungs are in epochs), one validation split for every trial (split-seed fixed to the base's
    /// seed, even when seed is searched), the trial's settings, and last the command line's (e.g. --threads).
    /// </summary>
    public TrainingOptions Recipe(string data, IReadOnlyList<OptionSetting> trial, IReadOnlyList<OptionSetting> overrides)
    {
        var options = OptionOverrides.Apply(new TrainingOptions { Data = data }, Base, $"{Source} (base)");
        if (Rungs.Unit == RungUnit.Epochs) options = options with { Schedule = options.Schedule with { Epochs = (int)Rungs.Max } };
        options = options with { SplitSeed = options.SplitSeed ?? options.Seed };
        options = OptionOverrides.Apply(options, trial, $"{Source} (search)");
        return OptionOverrides.Apply(options, overrides, "the command line");
    }

    /// <summary>The settings of trial <paramref name="trial"/>'s <paramref name="draw"/>-th draw: one value per searched option, in file order.</summary>
    /// <remarks>A function of (seed, trial, draw) alone, so a search repeats whatever order its trials train in.</remarks>
    public IReadOnlyList<OptionSetting> Sample(int seed, int trial, int draw)
    {
        var random = DeterministicRandom.Derive((ulong)seed, (ulong)trial, (ulong)draw);
        return [.. Parameters.Select(p => new OptionSetting(p.Key, p.Distribution.Sample(random)))];
    }
}
