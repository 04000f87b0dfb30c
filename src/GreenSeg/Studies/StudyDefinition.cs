using GreenSeg.Training;
using System.Text.RegularExpressions;
using GreenSeg.Common;
using GreenSeg.Energy;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Studies;

/// <summary>The recipe every run of a study starts from, before its own settings.</summary>
public enum StudyBase
{
    /// <summary>The study's baseline (<see cref="Training.TrainingOptions.Baseline"/>).</summary>
    Baseline,
    /// <summary>The study's green recipe (<see cref="Training.TrainingOptions.StudyGreen"/>).</summary>
    Green,
}

/// <summary>A named run of a study: the training options it changes.</summary>
public sealed record StudyRunDefinition(string Name, IReadOnlyList<OptionSetting> Settings);

/// <summary>One axis of a study's matrix: a training option and the values it takes.</summary>
public sealed record MatrixAxis(string Key, IReadOnlyList<string> Values);

/// <summary>
/// A study as written in YAML: what every run starts from, a fixed by-stack split, a budget, options
/// shared by all runs, and the runs (named, and/or a matrix of option values; with both, every named
/// run is crossed with the matrix).
/// </summary>
public sealed record StudyDefinition
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    /// <summary>Where the definition came from (a file path or a preset), for messages.</summary>
    public required string Source { get; init; }
    public StudyBase Base { get; init; } = StudyBase.Baseline;
    /// <summary>The dataset, when the file names one; <c>--data</c> overrides it.</summary>
    public string? Data { get; init; }
    /// <summary>The run every other run is compared with (null: the run named "baseline", else the first).</summary>
    public string? BaselineRun { get; init; }
    public int SplitSeed { get; init; } = 42;
    public double ValidationFraction { get; init; } = 0.2;
    public int? Epochs { get; init; }
    /// <summary>An energy allowance per run, e.g. "20kJ" (training stops when it is spent).</summary>
    public string? EnergyBudget { get; init; }
    public IReadOnlyList<OptionSetting> Common { get; init; } = [];
    public IReadOnlyList<StudyRunDefinition> Runs { get; init; } = [];
    public IReadOnlyList<MatrixAxis> Matrix { get; init; } = [];
}

/// <summary>Reads study YAML; every error names the file, the line and the key.</summary>
public static partial class StudyDefinitionParser
{
    /// <summary>Options that define the study's data and split: one value for all runs, never per run.</summary>
    public static IReadOnlySet<string> StudyWideKeys { get; } =
        new HashSet<string>(["data", "validation-data", "validation-fraction", "split-seed", "output"], StringComparer.Ordinal);

    private static readonly string[] TopLevelKeys = ["name", "description", "base", "data", "baseline-run", "split", "budget", "set", "runs", "matrix"];

    public static StudyDefinition Load(string path)
    {
        var (full, text) = YamlFileReader.ReadFile(path, "study file");
        return Parse(text, full, Path.GetFileNameWithoutExtension(full));
    }

    /// <param name="source">Names the text in errors (a path, or "preset 'quick'").</param>
    /// <param name="defaultName">The study's name when the text gives none.</param>
    public static StudyDefinition Parse(string yaml, string source, string defaultName)
    {
        var root = YamlFileReader.Root(yaml, source, "a study file must be a mapping with runs: and/or matrix:");

        var reader = new Reader(source);
        var fields = reader.Fields(root, TopLevelKeys, "the study");
        var definition = new StudyDefinition
        {
            Name = fields.TryGetValue("name", out var name) ? reader.Text(name, "name") : defaultName,
            Description = fields.TryGetValue("description", out var description) ? reader.Text(description, "description") : "",
            Source = source,
            Base = fields.TryGetValue("base", out var baseNode) ? reader.Base(baseNode) : StudyBase.Baseline,
            Data = fields.TryGetValue("data", out var data) ? reader.Text(data, "data") : null,
            BaselineRun = fields.TryGetValue("baseline-run", out var baselineRun) ? reader.Text(baselineRun, "baseline-run") : null,
            Common = fields.TryGetValue("set", out var common) ? reader.Settings(common, "set") : [],
            Runs = fields.TryGetValue("runs", out var runs) ? reader.Runs(runs) : [],
            Matrix = fields.TryGetValue("matrix", out var matrix) ? reader.Matrix(matrix) : [],
        };
        if (fields.TryGetValue("split", out var split))
        {
            var splitFields = reader.Fields(split, ["seed", "validation-fraction"], "split");
            if (splitFields.TryGetValue("seed", out var seed)) definition = definition with { SplitSeed = reader.Integer(seed, "split.seed") };
            if (splitFields.TryGetValue("validation-fraction", out var fraction))
            {
                double value = reader.Number(fraction, "split.validation-fraction");
                if (value is <= 0 or >= 1) throw reader.Error(fraction, $"split.validation-fraction must lie in (0, 1), got {value}");
                definition = definition with { ValidationFraction = value };
            }
        }
        if (fields.TryGetValue("budget", out var budget))
        {
            var budgetFields = reader.Fields(budget, ["epochs", "energy"], "budget");
            if (budgetFields.TryGetValue("epochs", out var epochs))
            {
                int value = reader.Integer(epochs, "budget.epochs");
                if (value < 1) throw reader.Error(epochs, $"budget.epochs must be at least 1, got {value}");
                definition = definition with { Epochs = value };
            }
            if (budgetFields.TryGetValue("energy", out var energy))
            {
                string text = reader.Text(energy, "budget.energy");
                if (!Energy.EnergyBudget.TryParse(text, out _, out string problem)) throw reader.Error(energy, $"budget.energy '{text}': {problem}");
                definition = definition with { EnergyBudget = text };
            }
        }
        if (definition.Runs.Count == 0 && definition.Matrix.Count == 0)
            throw new InvalidInputException(source, "the study has no runs: give runs: (named runs) and/or matrix: (option values to combine)");
        return definition;
    }

    /// <summary>Run names become folder names: letters, digits and + - . _ only.</summary>
    public static bool IsValidRunName(string name) => RunNamePattern().IsMatch(name);

    [GeneratedRegex(@"^[A-Za-z0-9+_.-]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex RunNamePattern();

    /// <summary>Walks the YAML tree, turning every surprise into an error naming the source, line and key.</summary>
    private sealed class Reader(string source) : YamlFileReader(source)
    {
        public StudyBase Base(YamlNode node) => Text(node, "base").Trim().ToLowerInvariant() switch
        {
            "baseline" => StudyBase.Baseline,
            "green" => StudyBase.Green,
            var other => throw Error(node, $"base '{other}': expected baseline (the study's baseline recipe) or green (the study's green recipe)"),
        };

        /// <summary>A mapping of training options; YAML null (<c>~</c>) resets an option to null.</summary>
        public IReadOnlyList<OptionSetting> Settings(YamlNode node, string where)
        {
            if (node is not YamlMappingNode mapping) throw Error(node, $"{where} must be a mapping of training options (e.g. cache: memory)");
            var settings = new List<OptionSetting>();
            foreach (var (keyNode, value) in mapping.Children)
            {
                string key = CheckOptionKey(keyNode, where);
                if (settings.Any(s => s.Key == key)) throw Error(keyNode, $"option '{key}' appears twice in {where}");
                settings.Add(new OptionSetting(key, ScalarOrNull(value, $"{where}.{key}")));
            }
            return settings;
        }

        public IReadOnlyList<StudyRunDefinition> Runs(YamlNode node)
        {
            if (node is not YamlSequenceNode sequence) throw Error(node, "runs must be a list of runs, each with a name (and set: for what it changes)");
            var runs = new List<StudyRunDefinition>();
            foreach (var item in sequence.Children)
            {
                var fields = Fields(item, ["name", "set"], "a run");
                if (!fields.TryGetValue("name", out var nameNode)) throw Error(item, "a run needs a name");
                string name = Text(nameNode, "name");
                if (!IsValidRunName(name)) throw Error(nameNode, $"run name '{name}': use letters, digits and + - . _ only (it names the run's folder)");
                if (runs.Any(r => r.Name == name)) throw Error(nameNode, $"two runs are named '{name}'");
                runs.Add(new StudyRunDefinition(name, fields.TryGetValue("set", out var set) ? Settings(set, $"run '{name}'") : []));
            }
            return runs;
        }

        public IReadOnlyList<MatrixAxis> Matrix(YamlNode node)
        {
            if (node is not YamlMappingNode mapping) throw Error(node, "matrix must be a mapping of training options to lists of values (e.g. optimizer: [adam, novograd])");
            var axes = new List<MatrixAxis>();
            foreach (var (keyNode, value) in mapping.Children)
            {
                string key = CheckOptionKey(keyNode, "matrix");
                if (axes.Any(a => a.Key == key)) throw Error(keyNode, $"option '{key}' appears twice in matrix");
                if (value is not YamlSequenceNode list || list.Children.Count == 0) throw Error(value, $"matrix.{key} must be a non-empty list of values");
                var values = list.Children.Select(v => Text(v, $"a value of matrix.{key}")).ToList();
                if (values.Distinct(StringComparer.Ordinal).Count() != values.Count) throw Error(value, $"matrix.{key} lists a value twice");
                axes.Add(new MatrixAxis(key, values));
            }
            return axes;
        }

        private string CheckOptionKey(YamlNode keyNode, string where)
        {
            string key = Text(keyNode, where);
            if (!OptionOverrides.IsKey(key))
                throw Error(keyNode, $"unknown training option '{key}' in {where}; valid keys: {string.Join(", ", OptionOverrides.Keys)}");
            if (StudyWideKeys.Contains(key))
                throw Error(keyNode, $"'{key}' cannot be set in {where}: every run of a study shares one dataset and split (use split: and --data)");
            return key;
        }
    }
}
