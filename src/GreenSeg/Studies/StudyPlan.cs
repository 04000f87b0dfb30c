using System.Text;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training;

namespace GreenSeg.Studies;

/// <summary>
/// One run of an expanded study: its name (and folder), its resolved options, and what it changes. A derived run
/// (<see cref="From"/>) holds the options of the trained run its model descends from: a pruned run fine-tunes with them.
/// </summary>
public sealed record PlannedRun(string Name, TrainingOptions Options, IReadOnlyList<OptionSetting> Changes)
{
    /// <summary>The run whose model this one starts from; null: trained from scratch.</summary>
    public string? From { get; init; }
    public StudyCompression? Compress { get; init; }
    public StudyInference Inference { get; init; } = StudyInference.Default;
    /// <summary>The study run it distils from (its distill-from names a run of the study, resolved to that run's folder when it trains).</summary>
    public string? Teacher { get; init; }

    public bool IsDerived => From is not null;

    /// <summary>How the run comes from others and is deployed, e.g. "from unet16: magnitude 50%, 1 fine-tuning epoch; onnx int8", "distilled from unet32" ("" for a plain run).</summary>
    public string Derivation => Describe(withTeacher: true);

    /// <summary>What this run changes against the study's shared options, e.g. "cache: memory, prefetch: 2", then how it is derived and deployed.</summary>
    public string ChangesText => string.Join("; ", new[] { string.Join(", ", Changes), Describe(withTeacher: false) }.Where(t => t.Length > 0));

    private string Describe(bool withTeacher) => string.Join("; ", new[]
    {
        From is null ? null : $"from {From}{(Compress is null ? "" : $": {Compress}")}",
        withTeacher && Teacher is not null ? $"distilled from {Teacher}" : null,
        Inference == StudyInference.Default ? null : Inference.ToString(),
    }.OfType<string>());
}

/// <summary>Settings from the command line (--epochs, --size, --set KEY=VALUE…), applied to every run after the study file: they win.</summary>
public sealed record StudyOverrides(IReadOnlyList<OptionSetting> Settings)
{
    public static StudyOverrides None { get; } = new([]);

    /// <summary>Parses "key=value" (the value may be empty or ~ for null).</summary>
    public static OptionSetting ParseSetting(string text)
    {
        int equals = text.IndexOf('=');
        if (equals <= 0) throw new GreenSegException($"--set '{text}': expected KEY=VALUE with a training option key, e.g. --set model-width=32");
        string key = text[..equals].Trim(), value = text[(equals + 1)..].Trim();
        if (!OptionOverrides.IsKey(key))
            throw new GreenSegException($"--set '{text}': unknown training option '{key}'; valid keys: {string.Join(", ", OptionOverrides.Keys)}");
        return new OptionSetting(key, value is "" or "~" ? null : value);
    }
}

/// <summary>A study ready to run: every run's options resolved against one dataset and split.</summary>
public sealed record StudyPlan(StudyDefinition Definition, string Data, IReadOnlyList<PlannedRun> Runs, string BaselineRun)
{
    public PlannedRun this[string name] => Runs.First(r => r.Name == name);

    /// <summary>How each run's deployed model is measured; null when the study does not measure it.</summary>
    public StudyDeployment? Deployment => Definition.MeasuredDeployment;
}

/// <summary>
/// Expands a study definition into runs. Each run's options are, in order: the base recipe, the
/// dataset and split, the budget, the shared <c>set:</c>, the run's own <c>set:</c>, its matrix values,
/// and finally the command line's overrides. Every run is validated here, before anything trains.
/// </summary>
public static class StudyPlanner
{
    public static StudyPlan Expand(StudyDefinition definition, string? data, StudyOverrides? overrides = null)
    {
        overrides ??= StudyOverrides.None;
        string dataset = Path.GetFullPath(data ?? definition.Data
            ?? throw new GreenSegException($"{definition.Source}: no dataset; give --data PATH"));
        foreach (var setting in overrides.Settings)
            if (StudyDefinitionParser.StudyWideKeys.Contains(setting.Key))
                throw new GreenSegException($"--set {setting.Key}: the dataset and split are the study's (use --data and the study file's split:)");

        var recipe = definition.Base switch
        {
            StudyBase.Baseline => TrainingOptions.Baseline(dataset),
            StudyBase.Green => TrainingOptions.StudyGreen(dataset),
            _ => new TrainingOptions { Data = dataset },
        };
        var start = recipe with
        {
            SplitSeed = definition.SplitSeed,
            ValidationFraction = definition.ValidationFraction,
            ValidationData = null,
        };
        if (definition.Epochs is int epochs) start = start with { Schedule = start.Schedule with { Epochs = epochs } };
        if (definition.EnergyBudget is { } budget) start = start with { Stopping = start.Stopping with { EnergyBudget = budget } };
        start = OptionOverrides.Apply(start, definition.Common, $"{definition.Source} (set)");

        var named = definition.Runs.Count > 0 ? InDependencyOrder(definition.Runs) : [new StudyRunDefinition("", [])];
        var runs = new List<PlannedRun>();
        foreach (var run in named)
        foreach (var combination in Combinations(definition.Matrix))
        {
            if (run.From is { } from)
            {
                // Derived: the model descends from the parent's; the recipe (for fine-tuning) is that of the trained run at the root.
                var parentOptions = runs.First(r => r.Name == from).Options;
                if (run.Compress is { Method: Compression.PruningMethod.L1Channels })
                {
                    try
                    {
                        Compression.ChannelPruning.RequireSupported(parentOptions.Model);
                    }
                    catch (GreenSegException e)
                    {
                        throw new InvalidInputException($"{definition.Source} (run '{run.Name}')", $"compress.method l1-channels: {e.Message}", e);
                    }
                }
                runs.Add(new PlannedRun(run.Name, parentOptions, []) { From = from, Compress = run.Compress, Inference = run.Inference });
                continue;
            }
            string name = string.Join("_", new[] { run.Name }.Concat(combination.Select(NamePart)).Where(p => p.Length > 0));
            if (runs.Any(r => r.Name == name))
                throw new InvalidInputException(definition.Source, $"two runs would be named '{name}'; make the matrix values differ in letters or digits");
            var changes = run.Settings.Concat(combination).ToList();
            string where = $"{definition.Source} (run '{name}')";
            var options = OptionOverrides.Apply(start, changes, where);
            options = OptionOverrides.Apply(options, overrides.Settings, $"the command line (run '{name}')");
            runs.Add(new PlannedRun(name, Check(options, where), changes)
                { Inference = run.Inference, Teacher = StudyDefinitionParser.Teacher(run, definition.Runs) });
        }

        string baseline = definition.BaselineRun ?? (runs.Any(r => r.Name == "baseline") ? "baseline" : runs[0].Name);
        if (runs.All(r => r.Name != baseline))
            throw new InvalidInputException(definition.Source, $"baseline-run '{baseline}' is not one of the runs: {string.Join(", ", runs.Select(r => r.Name))}");
        return new StudyPlan(definition, dataset, runs, baseline);
    }

    /// <summary>The runs with every run after those it depends on (from:, distill-from:), otherwise in the file's order.</summary>
    public static IReadOnlyList<StudyRunDefinition> InDependencyOrder(IReadOnlyList<StudyRunDefinition> runs)
    {
        var ordered = new List<StudyRunDefinition>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        while (ordered.Count < runs.Count)
        {
            // The parser refused cycles: some run always has its dependencies placed.
            var next = runs.First(r => !placed.Contains(r.Name) && StudyDefinitionParser.Dependencies(r, runs).All(placed.Contains));
            ordered.Add(next);
            placed.Add(next.Name);
        }
        return ordered;
    }

    /// <summary>The cartesian product of the axes, in axis order (one empty combination when there is no matrix).</summary>
    public static IEnumerable<IReadOnlyList<OptionSetting>> Combinations(IReadOnlyList<MatrixAxis> axes)
    {
        IEnumerable<IReadOnlyList<OptionSetting>> result = [[]];
        foreach (var axis in axes)
        {
            var current = axis;
            result = result.SelectMany(prefix => current.Values.Select(v => (IReadOnlyList<OptionSetting>)[.. prefix, new OptionSetting(current.Key, v)]));
        }
        return result;
    }

    /// <summary>"key-value" with anything but letters, digits and + . - turned into '-', so it can name a folder.</summary>
    public static string NamePart(OptionSetting setting)
    {
        var text = new StringBuilder(setting.Key).Append('-');
        foreach (char c in setting.Value ?? "none") text.Append(char.IsAsciiLetterOrDigit(c) || c is '+' or '.' or '-' ? c : '-');
        return text.ToString();
    }

    /// <summary>Fails now, naming the run, on what would otherwise fail only when that run starts.</summary>
    private static TrainingOptions Check(TrainingOptions options, string where)
    {
        try
        {
            options.Validate();
            ModelRegistry.Describe(options.Model);
            PrecisionOption.Resolve(options.Compute.Precision, TorchRuntime.ResolveDevice(options.Compute.Device));
            if (options.Stopping.EnergyBudget is { } budget) Energy.EnergyBudget.Parse(budget);
            return options;
        }
        catch (GreenSegException e) when (e is not InvalidInputException)
        {
            throw new InvalidInputException(where, e.Message, e);
        }
    }
}
