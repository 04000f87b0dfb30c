using GreenSeg.Training;
using System.Globalization;
using System.Text.RegularExpressions;
using GreenSeg.Common;
using GreenSeg.Compression;
using GreenSeg.Energy;
using GreenSeg.Inference;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Studies;

/// <summary>The recipe every run of a study starts from, before its own settings.</summary>
public enum StudyBase
{
    /// <summary>The study's baseline (<see cref="Training.TrainingOptions.Baseline"/>).</summary>
    Baseline,
    /// <summary>The study's green recipe (<see cref="Training.TrainingOptions.StudyGreen"/>).</summary>
    Green,
    /// <summary>GreenSeg's default recipe, what <c>greenseg train</c> trains without options (<see cref="Training.TrainingOptions"/>).</summary>
    Default,
}

/// <summary>
/// A named run of a study: the training options it changes; or, with <see cref="From"/>, a run derived from another run's
/// model (pruned with <see cref="Compress"/>, and/or only deployed differently with <see cref="Inference"/>).
/// </summary>
public sealed record StudyRunDefinition(string Name, IReadOnlyList<OptionSetting> Settings)
{
    /// <summary>The run whose model this one starts from (YAML <c>from:</c>); null: a run trained from scratch.</summary>
    public string? From { get; init; }
    /// <summary>How the parent's model is pruned (YAML <c>compress:</c>); null: its weights are used as they are.</summary>
    public StudyCompression? Compress { get; init; }
    /// <summary>How the run's model is scored and timed (YAML <c>inference:</c>).</summary>
    public StudyInference Inference { get; init; } = StudyInference.Default;

    /// <summary>Whether the run is not trained from scratch but derived from <see cref="From"/>.</summary>
    public bool IsDerived => From is not null;
}

/// <summary>A derived run's pruning (<see cref="Pruning"/>): method, final sparsity, steps and fine-tuning epochs after each.</summary>
public sealed record StudyCompression(PruningMethod Method, double Sparsity, int Iterations = 1, int FinetuneEpochs = 0)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{ChoiceNames.Name(Method)} {Sparsity * 100:0.#}%{(Iterations > 1 ? $" in {Iterations} iterations" : "")}, {FinetuneEpochs} fine-tuning epoch{(FinetuneEpochs == 1 ? "" : "s")}{(Iterations > 1 ? " each" : "")}");
}

/// <summary>
/// How a study run's model is deployed when it is scored and timed: the engine, its precision (torch: an
/// <see cref="InferencePrecision"/> name; onnx: fp32 or int8, the model exported to a .onnx file), and, on torch,
/// whether BatchNorm is folded into the convolutions (segment's default).
/// </summary>
public sealed record StudyInference(InferenceEngine Engine = InferenceEngine.Torch, string Precision = InferencePrecision.Auto, bool FoldBatchNorm = true)
{
    public static StudyInference Default { get; } = new();

    /// <summary>The ONNX export's precision (onnx only).</summary>
    public Models.Onnx.OnnxPrecision OnnxPrecision => OnnxModels.ParsePrecision(Precision) ?? Models.Onnx.OnnxPrecision.Fp32;

    public override string ToString() => Engine == InferenceEngine.Onnx
        ? $"onnx {Precision}"
        : $"torch {Precision}, BatchNorm {(FoldBatchNorm ? "folded" : "unfolded")}";
}

/// <summary>
/// How a study measures each run's deployed model (YAML <c>deployment:</c>): seconds and joules per phantom stack of
/// <see cref="TimingSize"/> x <see cref="TimingSize"/> x <see cref="TimingSlices"/>, the mean of <see cref="TimingStacks"/>
/// segmentations after a warm-up, and the slices int8 is calibrated on.
/// </summary>
public sealed record StudyDeployment
{
    public int TimingSize { get; init; } = 256;
    public int TimingSlices { get; init; } = 40;
    public int TimingStacks { get; init; } = 3;
    public int CalibrationSlices { get; init; } = 64;

    public string StackText => string.Create(CultureInfo.InvariantCulture, $"{TimingSize}x{TimingSize}x{TimingSlices}");
}

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
    /// <summary>The <c>deployment:</c> section, when given.</summary>
    public StudyDeployment? Deployment { get; init; }

    /// <summary>
    /// How every run's deployed model is measured, or null when it is not: a study measures it when it has a
    /// <c>deployment:</c> section or any run with <c>from:</c> or <c>inference:</c>.
    /// </summary>
    public StudyDeployment? MeasuredDeployment =>
        Deployment ?? (Runs.Any(r => r.IsDerived || r.Inference != StudyInference.Default) ? new StudyDeployment() : null);
}

/// <summary>Reads study YAML; every error names the file, the line and the key.</summary>
public static partial class StudyDefinitionParser
{
    /// <summary>Options that define the study's data and split: one value for all runs, never per run.</summary>
    public static IReadOnlySet<string> StudyWideKeys { get; } =
        new HashSet<string>(["data", "validation-data", "validation-fraction", "split-seed", "output"], StringComparer.Ordinal);

    private static readonly string[] TopLevelKeys = ["name", "description", "base", "data", "baseline-run", "split", "budget", "set", "runs", "matrix", "deployment"];

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
        if (fields.TryGetValue("deployment", out var deployment)) definition = definition with { Deployment = reader.Deployment(deployment) };
        if (definition.Runs.Count == 0 && definition.Matrix.Count == 0)
            throw new InvalidInputException(source, "the study has no runs: give runs: (named runs) and/or matrix: (option values to combine)");
        if (definition.Matrix.Count > 0 && definition.Runs.FirstOrDefault(r => r.IsDerived || Teacher(r, definition.Runs) is not null) is { } derived)
            throw new InvalidInputException(source, $"run '{derived.Name}' depends on another run (from: or distill-from:), which a matrix: cannot cross; list such runs without matrix:");
        return definition;
    }

    /// <summary>The study run a run distils from (its <c>distill-from:</c> names one of <paramref name="runs"/>), else null.</summary>
    public static string? Teacher(StudyRunDefinition run, IReadOnlyList<StudyRunDefinition> runs) =>
        run.Settings.FirstOrDefault(s => s.Key == DistillFromKey)?.Value is { } teacher && runs.Any(r => r.Name == teacher) ? teacher : null;

    /// <summary>The runs a run needs finished first: its <c>from:</c> and the study run its <c>distill-from:</c> names.</summary>
    public static IEnumerable<string> Dependencies(StudyRunDefinition run, IReadOnlyList<StudyRunDefinition> runs) =>
        new[] { run.From, Teacher(run, runs) }.OfType<string>().Distinct(StringComparer.Ordinal);

    private const string DistillFromKey = "distill-from";

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
            "default" => StudyBase.Default,
            var other => throw Error(node, $"base '{other}': expected baseline (the study's baseline recipe), green (the study's green recipe) or default (GreenSeg's default recipe)"),
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
            var fromNodes = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var item in sequence.Children)
            {
                var fields = Fields(item, ["name", "set", "from", "compress", "inference"], "a run");
                if (!fields.TryGetValue("name", out var nameNode)) throw Error(item, "a run needs a name");
                string name = Text(nameNode, "name");
                if (!IsValidRunName(name)) throw Error(nameNode, $"run name '{name}': use letters, digits and + - . _ only (it names the run's folder)");
                if (runs.Any(r => r.Name == name)) throw Error(nameNode, $"two runs are named '{name}'");
                var run = new StudyRunDefinition(name, fields.TryGetValue("set", out var set) ? Settings(set, $"run '{name}'") : [])
                {
                    From = fields.TryGetValue("from", out var from) ? Text(from, $"run '{name}': from") : null,
                    Compress = fields.TryGetValue("compress", out var compress) ? Compression(compress, name) : null,
                    Inference = fields.TryGetValue("inference", out var inference) ? Inference(inference, name) : StudyInference.Default,
                };
                if (run.From is null && compress is not null)
                    throw Error(compress, $"run '{name}': compress: needs from: (the run whose model is pruned)");
                if (run.From is not null)
                {
                    if (set is not null) throw Error(set, $"run '{name}': set: cannot be given with from: (a derived run keeps its parent's recipe; give compress: and/or inference:)");
                    if (compress is null && inference is null) throw Error(from!, $"run '{name}': from: needs compress: (how the model is pruned) and/or inference: (how it is deployed)");
                    fromNodes[name] = from!;
                }
                runs.Add(run);
            }
            foreach (var run in runs.Where(r => r.From is not null))
                if (runs.All(r => r.Name != run.From))
                    throw Error(fromNodes[run.Name], $"run '{run.Name}': from: '{run.From}' is not a run of this study (runs: {string.Join(", ", runs.Select(r => r.Name))})");
            if (FindCycle(runs) is { } cycle)
                throw Error(sequence, $"runs {string.Join(" -> ", cycle.Select(c => $"'{c}'"))} depend on each other in a cycle (through from: or distill-from:)");
            return runs;
        }

        /// <summary>A chain of runs that leads back to its first (through from: and distill-from:), or null.</summary>
        private static IReadOnlyList<string>? FindCycle(IReadOnlyList<StudyRunDefinition> runs)
        {
            var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1: on the path, 2: done
            var path = new List<string>();
            foreach (var run in runs)
                if (Visit(run.Name) is { } cycle) return cycle;
            return null;

            IReadOnlyList<string>? Visit(string name)
            {
                if (state.TryGetValue(name, out int seen))
                    return seen == 1 ? [.. path.Skip(path.IndexOf(name)), name] : null;
                state[name] = 1;
                path.Add(name);
                foreach (string dependency in Dependencies(runs.First(r => r.Name == name), runs))
                    if (Visit(dependency) is { } cycle) return cycle;
                path.RemoveAt(path.Count - 1);
                state[name] = 2;
                return null;
            }
        }

        public StudyCompression Compression(YamlNode node, string run)
        {
            string where = $"run '{run}': compress";
            var fields = Fields(node, ["method", "sparsity", "iterations", "finetune-epochs"], where);
            if (!fields.TryGetValue("method", out var methodNode)) throw Error(node, $"{where} needs method: ({string.Join(" or ", ChoiceNames.Names<PruningMethod>())})");
            string methodText = Text(methodNode, $"{where}.method");
            if (!ChoiceNames.TryParse(methodText, out PruningMethod method))
                throw Error(methodNode, $"{where}.method '{methodText}': {ChoiceNames.Expected(typeof(PruningMethod))}");
            if (!fields.TryGetValue("sparsity", out var sparsityNode)) throw Error(node, $"{where} needs sparsity: (the share pruned, e.g. 0.5)");
            double sparsity = Number(sparsityNode, $"{where}.sparsity");
            if (!(sparsity is > 0 and < 1)) throw Error(sparsityNode, $"{where}.sparsity must lie in (0, 1), got {sparsity.ToString(CultureInfo.InvariantCulture)}");
            int iterations = fields.TryGetValue("iterations", out var iterationsNode) ? Integer(iterationsNode, $"{where}.iterations") : 1;
            if (iterations < 1) throw Error(iterationsNode!, $"{where}.iterations must be at least 1, got {iterations}");
            int epochs = fields.TryGetValue("finetune-epochs", out var epochsNode) ? Integer(epochsNode, $"{where}.finetune-epochs") : 0;
            if (epochs < 0) throw Error(epochsNode!, $"{where}.finetune-epochs must be at least 0, got {epochs}");
            if (iterations > 1 && epochs == 0) throw Error(iterationsNode!, $"{where}.iterations {iterations} needs fine-tuning between them: give finetune-epochs");
            return new StudyCompression(method, sparsity, iterations, epochs);
        }

        public StudyInference Inference(YamlNode node, string run)
        {
            string where = $"run '{run}': inference";
            var fields = Fields(node, ["engine", "precision", "fold-bn"], where);
            var engine = InferenceEngine.Torch;
            if (fields.TryGetValue("engine", out var engineNode))
            {
                string text = Text(engineNode, $"{where}.engine");
                if (!ChoiceNames.TryParse(text, out engine)) throw Error(engineNode, $"{where}.engine '{text}': expected torch or onnx");
            }
            string precision = engine == InferenceEngine.Onnx ? "fp32" : InferencePrecision.Auto;
            if (fields.TryGetValue("precision", out var precisionNode))
            {
                precision = Text(precisionNode, $"{where}.precision").Trim().ToLowerInvariant();
                var allowed = engine == InferenceEngine.Onnx ? ["fp32", "int8"] : InferencePrecision.Names;
                if (!allowed.Contains(precision))
                    throw Error(precisionNode, $"{where}.precision '{precision}' on the {engine.ToString().ToLowerInvariant()} engine: expected one of {string.Join(", ", allowed)}");
            }
            bool fold = true;
            if (fields.TryGetValue("fold-bn", out var foldNode))
            {
                string text = Text(foldNode, $"{where}.fold-bn");
                if (!bool.TryParse(text, out fold)) throw Error(foldNode, $"{where}.fold-bn must be true or false, got '{text}'");
                if (!fold && engine == InferenceEngine.Onnx) throw Error(foldNode, $"{where}.fold-bn: the ONNX export always folds BatchNorm; fold-bn: false applies to the torch engine");
            }
            return new StudyInference(engine, precision, fold);
        }

        public StudyDeployment Deployment(YamlNode node)
        {
            var fields = Fields(node, ["timing-size", "timing-slices", "timing-stacks", "calibration-slices"], "deployment");
            var deployment = new StudyDeployment();
            int Positive(string key, int fallback, int minimum)
            {
                if (!fields.TryGetValue(key, out var value)) return fallback;
                int number = Integer(value, $"deployment.{key}");
                return number >= minimum ? number : throw Error(value, $"deployment.{key} must be at least {minimum}, got {number}");
            }
            return deployment with
            {
                TimingSize = Positive("timing-size", deployment.TimingSize, 16),
                TimingSlices = Positive("timing-slices", deployment.TimingSlices, 1),
                TimingStacks = Positive("timing-stacks", deployment.TimingStacks, 1),
                CalibrationSlices = Positive("calibration-slices", deployment.CalibrationSlices, 1),
            };
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
