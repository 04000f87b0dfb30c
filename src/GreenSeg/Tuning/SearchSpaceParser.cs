using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Training;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Tuning;

/// <summary>
/// Reads a search file (<c>greenseg tune SPACE.yaml</c>); every error names the file, the line and the key:
/// <code>
/// name: micronet-phantom          # optional (default: the file's name)
/// base: {model: micronet, size: 32, spacing: 8}    # training options every trial starts from (short keys, dotted paths or sections)
/// search:
///   learning-rate: {log-uniform: [1e-4, 3e-3]}
///   model-width: {choice: [8, 16, 32]}          # a plain list is a choice too
///   fire-net.stages: {int: [2, 4]}
///   loading.augmentation.rotation-probability: {uniform: [0, 0.5]}
/// rungs: {min-epochs: 2, max-epochs: 16, eta: 2}   # or {min-kj: 5, max-kj: 40, eta: 2}
/// </code>
/// Each searched value is checked against the base recipe before anything trains (every choice, a range's bounds and
/// middle), and against every value of each other searched choice, so a value an option does not take, or a
/// combination that cannot train (a fire-net shape with a model without fire modules), is an error here.
/// </summary>
public static class SearchSpaceParser
{
    /// <summary>Options every trial shares, never searched: the data and its split, where runs go, and epochs (the rungs set them).</summary>
    public static IReadOnlySet<string> UnsearchableKeys { get; } = new HashSet<string>(
        ["data", "validation-data", "validation-fraction", "split-seed", "output", "final", "stacks", "schedule.epochs"], StringComparer.Ordinal);

    /// <summary>Options the base recipe may not set: the tune command sets the data, and where and how every trial runs.</summary>
    public static IReadOnlySet<string> TuneOwnedKeys { get; } = new HashSet<string>(["data", "output", "final", "stacks"], StringComparer.Ordinal);

    private static readonly string[] TopLevelKeys = ["name", "base", "search", "rungs"];

    /// <summary>Stands in for the data while checking values: the data is the command's, not the file's.</summary>
    private const string DataPlaceholder = "(the data)";

    public static SearchSpace Load(string path)
    {
        var (full, text) = YamlFileReader.ReadFile(path, "search file");
        return Parse(text, full, Path.GetFileNameWithoutExtension(full));
    }

    /// <param name="source">Names the text in errors.</param>
    /// <param name="defaultName">The search's name when the text gives none.</param>
    public static SearchSpace Parse(string yaml, string source, string defaultName)
    {
        var root = YamlFileReader.Root(yaml, source, "a search file must be a mapping with search: and rungs: (and base:)");

        var reader = new Reader(source);
        var fields = reader.Fields(root, TopLevelKeys, "the search file");
        if (!fields.TryGetValue("search", out var searchNode)) throw reader.Error(root, "no search: the options to search and their values (e.g. learning-rate: {log-uniform: [1e-4, 3e-3]})");
        if (!fields.TryGetValue("rungs", out var rungsNode)) throw reader.Error(root, "no rungs: give e.g. rungs: {min-epochs: 2, max-epochs: 16, eta: 2}");

        var baseSettings = fields.TryGetValue("base", out var baseNode) ? reader.Base(baseNode) : [];
        var rungs = reader.Rungs(rungsNode);
        var (parameters, lines) = reader.Search(searchNode);
        var space = new SearchSpace
        {
            Name = fields.TryGetValue("name", out var name) ? reader.Text(name, "name") : defaultName,
            Source = source,
            Text = yaml,
            Base = baseSettings.Select(b => b.Setting).ToList(),
            Parameters = parameters,
            Rungs = rungs,
        };
        Check(space, reader, baseNode, baseSettings, rungsNode, lines);
        return space;
    }

    /// <summary>The base recipe, each searched value on it, and each value with every other searched choice's values.</summary>
    private static void Check(SearchSpace space, Reader reader, YamlNode? baseNode, IReadOnlyList<(OptionSetting Setting, YamlNode Node)> baseSettings,
        YamlNode rungsNode, IReadOnlyDictionary<string, YamlNode> lines)
    {
        TrainingOptions recipe;
        try
        {
            recipe = space.Recipe(DataPlaceholder, [], []).Validate();
        }
        catch (GreenSegException e)
        {
            throw reader.Error(baseNode ?? rungsNode, $"base: {Problem(e)}");
        }
        if (space.Rungs.Unit == RungUnit.Epochs && baseSettings.FirstOrDefault(b => TrainingOptionKeys.Resolve(b.Setting.Key) == "schedule.epochs") is { Node: { } epochsNode } given
            && given.Setting.Value != ((int)space.Rungs.Max).ToString(CultureInfo.InvariantCulture))
            throw reader.Error(epochsNode, $"base epochs ({given.Setting.Value}) and rungs max-epochs ({space.Rungs.Max}) disagree: a trial's full run is max-epochs " +
                "(its learning-rate schedule spans them, and the best recipe is written with them); remove epochs from base:");
        if (space.Rungs.Unit == RungUnit.Kilojoules && recipe.Stopping.EnergyBudget is not null)
            throw reader.Error(baseNode ?? rungsNode, "base sets energy-budget while the rungs are in kJ: the rungs give each trial its energy; remove energy-budget from base:");

        // Every trial sets every searched option: each value is checked with the others at a reference value (their
        // first), then with every value of each other choice, so a value is blamed only for what it does itself.
        var reference = space.Parameters.ToDictionary(p => p.Key, p => p.Distribution.Probes().First(), StringComparer.Ordinal);
        IReadOnlyList<OptionSetting> With(params (string Key, string Value)[] changes) =>
            [.. space.Parameters.Select(p => new OptionSetting(p.Key, changes.FirstOrDefault(c => c.Key == p.Key).Value ?? reference[p.Key]))];
        foreach (var parameter in space.Parameters)
        {
            var node = lines[parameter.Key];
            foreach (string value in parameter.Distribution.Probes())
            {
                if (Problem(space, With((parameter.Key, value))) is null) continue;
                string prefix = $"search.{parameter.Key}: ";
                if (Problem(space, [new OptionSetting(parameter.Key, value)]) is { } alone) throw reader.Error(node, prefix + alone);
                foreach (var other in space.Parameters.Where(o => o.Key != parameter.Key))
                    if (Problem(space, [new OptionSetting(parameter.Key, value), new OptionSetting(other.Key, reference[other.Key])]) is { } pair)
                        throw reader.Error(node, $"{prefix}'{value}' with {other.Key}: '{reference[other.Key]}': {pair}");
                throw reader.Error(node, $"{prefix}'{value}' with the other searched options at their first values " +
                    $"({string.Join(", ", reference.Where(r => r.Key != parameter.Key).Select(r => $"{r.Key}: {r.Value}"))}): {Problem(space, With((parameter.Key, value)))}");
            }
        }
        var choices = space.Parameters.Where(p => p.Distribution.Kind == DistributionKind.Choice).ToList();
        foreach (var parameter in space.Parameters)
            foreach (string value in parameter.Distribution.Probes())
                foreach (var other in choices.Where(c => c.Key != parameter.Key))
                    foreach (string otherValue in other.Distribution.Choices)
                        if (Problem(space, With((parameter.Key, value), (other.Key, otherValue))) is { } problem)
                            throw reader.Error(lines[parameter.Key], $"search.{parameter.Key}: '{value}' with {other.Key}: '{otherValue}': {problem}");
    }

    /// <summary>Why these settings on the base recipe make no valid recipe; null when they do.</summary>
    private static string? Problem(SearchSpace space, IReadOnlyList<OptionSetting> trial)
    {
        try
        {
            space.Recipe(DataPlaceholder, trial, []).Validate();
            return null;
        }
        catch (GreenSegException e)
        {
            return Problem(e);
        }
    }

    /// <summary>The problem alone, without the "(search)" source OptionOverrides puts in front of it.</summary>
    private static string Problem(GreenSegException e) => e is InvalidInputException input ? input.Problem : e.Message;

    /// <summary>Walks the YAML tree, turning every surprise into an error naming the source, line and key.</summary>
    private sealed class Reader(string source) : YamlFileReader(source)
    {
        private double FiniteNumber(YamlNode node, string what)
        {
            double value = Number(node, what);
            return double.IsFinite(value) ? value : throw Error(node, $"{what} must be a number, got '{Text(node, what)}'");
        }

        /// <summary>Training options as a mapping: short keys, dotted paths, or sections holding their keys; nested mappings become dotted paths.</summary>
        public IReadOnlyList<(OptionSetting Setting, YamlNode Node)> Base(YamlNode node)
        {
            if (node is not YamlMappingNode mapping) throw Error(node, "base must be a mapping of training options (e.g. base: {model: micronet, size: 32})");
            var settings = new List<(OptionSetting, YamlNode)>();
            var paths = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            void Walk(YamlMappingNode map, string prefix)
            {
                foreach (var (keyNode, value) in map.Children)
                {
                    string key = prefix + Text(keyNode, "a key of base");
                    if (value is YamlMappingNode inner && !OptionOverrides.IsKey(key))
                    {
                        Walk(inner, key + ".");
                        continue;
                    }
                    string path = TrainingOptionKeys.Resolve(key)
                        ?? throw Error(keyNode, $"unknown training option '{key}' in base; valid keys: {string.Join(", ", OptionOverrides.Keys)} (or a dotted path, e.g. optimisation.learning-rate)");
                    if (TuneOwnedKeys.Contains(ShortKey(path)))
                        throw Error(keyNode, $"'{key}' cannot be set in base: the tune command sets it for every trial (--data; runs go under the tune folder)");
                    if (paths.TryGetValue(path, out var first)) throw Error(keyNode, $"'{key}' is given twice in base (also line {first.Start.Line})");
                    paths[path] = keyNode;
                    settings.Add((new OptionSetting(key, ScalarOrNull(value, $"base.{key}")), keyNode));
                }
            }
            Walk(mapping, "");
            return settings;
        }

        public (IReadOnlyList<SearchParameter> Parameters, IReadOnlyDictionary<string, YamlNode> Lines) Search(YamlNode node)
        {
            if (node is not YamlMappingNode mapping || mapping.Children.Count == 0)
                throw Error(node, "search must be a mapping of training options to their values (e.g. learning-rate: {log-uniform: [1e-4, 3e-3]})");
            var parameters = new List<SearchParameter>();
            var lines = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            var paths = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (keyNode, value) in mapping.Children)
            {
                string key = Text(keyNode, "a key of search");
                string path = TrainingOptionKeys.Resolve(key)
                    ?? throw Error(keyNode, $"unknown training option '{key}' in search; valid keys: {string.Join(", ", OptionOverrides.Keys)} (or a dotted path, e.g. fire-net.stages)");
                if (UnsearchableKeys.Contains(path) || UnsearchableKeys.Contains(ShortKey(path)))
                    throw Error(keyNode, path == "schedule.epochs"
                        ? $"'{key}' cannot be searched: the rungs set how long trials train (min-epochs, max-epochs)"
                        : $"'{key}' cannot be searched: every trial shares the data, its split and the tune folder");
                if (paths.TryGetValue(path, out string? other)) throw Error(keyNode, $"'{key}' and '{other}' are the same option ({path}); search it once");
                paths[path] = key;
                lines[key] = keyNode;
                parameters.Add(new SearchParameter(key, Distribution(value, $"search.{key}")));
            }
            return (parameters, lines);
        }

        /// <summary><c>{kind: [...]}</c>, or a plain list (a choice).</summary>
        private ParameterDistribution Distribution(YamlNode node, string where)
        {
            if (node is YamlSequenceNode plain) return Choice(plain, where);
            if (node is not YamlMappingNode { Children.Count: 1 } mapping)
                throw Error(node, $"{where} must be one distribution, e.g. {{log-uniform: [1e-4, 3e-3]}}, {{uniform: [0, 0.5]}}, {{int: [2, 4]}} or {{choice: [adam, novograd]}} ({ChoiceNames.Expected(typeof(DistributionKind))})");
            var (kindNode, values) = mapping.Children.Single();
            string kindText = Text(kindNode, where);
            if (!ChoiceNames.TryParse(kindText, out DistributionKind kind))
                throw Error(kindNode, $"{where}: unknown distribution '{kindText}'; {ChoiceNames.Expected(typeof(DistributionKind))}");
            if (kind == DistributionKind.Choice)
                return values is YamlSequenceNode list ? Choice(list, where) : throw Error(values, $"{where}: choice needs a list of values, e.g. [adam, novograd]");
            if (values is not YamlSequenceNode { Children.Count: 2 } bounds)
                throw Error(values, $"{where}: {kindText} needs [low, high]");
            double low = FiniteNumber(bounds.Children[0], $"{where} low"), high = FiniteNumber(bounds.Children[1], $"{where} high");
            if (low > high) throw Error(values, $"{where}: low {Show(low)} > high {Show(high)}");
            if (low == high) throw Error(values, $"{where}: the range [{Show(low)}, {Show(high)}] is empty; a fixed value belongs in base:");
            if (kind == DistributionKind.LogUniform && low <= 0)
                throw Error(values, $"{where}: log-uniform needs positive bounds, got low {Show(low)}");
            if (kind == DistributionKind.IntRange && (low != Math.Floor(low) || high != Math.Floor(high) || Math.Abs(low) > int.MaxValue / 2 || Math.Abs(high) > int.MaxValue / 2))
                throw Error(values, $"{where}: int needs whole-number bounds, got [{Show(low)}, {Show(high)}]");
            return new ParameterDistribution { Kind = kind, Low = low, High = high };
        }

        private ParameterDistribution Choice(YamlSequenceNode list, string where)
        {
            if (list.Children.Count == 0) throw Error(list, $"{where}: the choice is empty; list at least one value");
            var choices = list.Children.Select(v => Text(v, $"a value of {where}")).ToList();
            if (choices.Distinct(StringComparer.Ordinal).Count() != choices.Count) throw Error(list, $"{where} lists a value twice");
            return new ParameterDistribution { Kind = DistributionKind.Choice, Choices = choices };
        }

        public RungLadder Rungs(YamlNode node)
        {
            var fields = Fields(node, ["min-epochs", "max-epochs", "min-kj", "max-kj", "eta"], "rungs");
            bool epochs = fields.ContainsKey("min-epochs") || fields.ContainsKey("max-epochs");
            bool kj = fields.ContainsKey("min-kj") || fields.ContainsKey("max-kj");
            if (epochs == kj)
                throw Error(node, epochs ? "rungs are in epochs or in kJ, not both" : "rungs need min-epochs and max-epochs (or min-kj and max-kj)");
            string unit = epochs ? "epochs" : "kj";
            if (!fields.TryGetValue($"min-{unit}", out var minNode) || !fields.TryGetValue($"max-{unit}", out var maxNode))
                throw Error(node, $"rungs need both min-{unit} and max-{unit}");
            double min = FiniteNumber(minNode, $"rungs.min-{unit}"), max = FiniteNumber(maxNode, $"rungs.max-{unit}");
            if (epochs && (min != Math.Floor(min) || max != Math.Floor(max) || max > 100_000)) throw Error(minNode, "rungs.min-epochs and max-epochs must be whole numbers of epochs");
            if (!(min > 0)) throw Error(minNode, $"rungs.min-{unit} must be positive, got {Show(min)}");
            if (min > max) throw Error(minNode, $"rungs.min-{unit} ({Show(min)}) > max-{unit} ({Show(max)})");
            int eta = RungLadder.DefaultEta;
            if (fields.TryGetValue("eta", out var etaNode))
            {
                string text = Text(etaNode, "rungs.eta");
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out eta) || eta < 2 || eta > 100)
                    throw Error(etaNode, $"rungs.eta (the reduction factor: the top 1/eta of a rung go up) must be a whole number in 2..100, got '{text}'");
            }
            return new RungLadder(epochs ? RungUnit.Epochs : RungUnit.Kilojoules, min, max, eta);
        }

        private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A dotted path's last key when it is a section's own option (schedule.epochs → epochs); top-level keys as they are.</summary>
    private static string ShortKey(string path) => path.Count(c => c == '.') == 1 ? path[(path.IndexOf('.') + 1)..] : path;
}
