using GreenSeg.Common;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Training;

/// <summary>One training option set by a study (or the command line): its key and scalar text (null = YAML null).</summary>
public sealed record OptionSetting(string Key, string? Value)
{
    public override string ToString() => $"{Key}: {Value ?? "~"}";
}

/// <summary>
/// Training options addressed by the keys of a run's config.yaml, so a study's <c>set:</c>, <c>--set</c> and the
/// command line's flags set exactly what <c>greenseg train --config</c> reads: the settings are written into the
/// options' own YAML and read back by the same deserializer, with the same types, parsing and errors. A key is a
/// section's key alone (<c>learning-rate</c>, as configs were written before the sections) or a dotted path
/// (<c>optimisation.learning-rate</c>, <c>augmentation.shift-probability</c>); see <see cref="TrainingOptionKeys"/>.
/// </summary>
public static class OptionOverrides
{
    /// <summary>Every short key a setting may use, in config order (a dotted path reaches the options nested deeper).</summary>
    public static IReadOnlyList<string> Keys => TrainingOptionKeys.ShortKeys;

    public static bool IsKey(string key) => TrainingOptionKeys.Resolve(key) is not null;

    /// <summary>A copy of <paramref name="options"/> with the settings applied in order (later ones win).</summary>
    /// <param name="source">Names the file (and place) the settings came from, for error messages.</param>
    public static TrainingOptions Apply(TrainingOptions options, IEnumerable<OptionSetting> settings, string source)
    {
        var list = settings.ToList();
        if (list.Count > 1 && list.All(s => s.Value is not null && TrainingOptionKeys.Resolve(s.Key) is not null) && TryAll(options, list, source) is { } all)
            return all;
        var result = options;
        foreach (var setting in list) result = Set(result, setting, source);
        return result;
    }

    /// <summary>
    /// Every setting written into one copy of the options' YAML, read back once: what setting them one by one gives (each
    /// writes its own path; later ones win), in one round trip instead of one per setting. Null when the text does not read,
    /// so that setting them one by one names the key at fault.
    /// </summary>
    private static TrainingOptions? TryAll(TrainingOptions options, IReadOnlyList<OptionSetting> settings, string source)
    {
        var mapping = TrainingOptionKeys.Mapping(options);
        foreach (var setting in settings)
        {
            string[] path = TrainingOptionKeys.Resolve(setting.Key)!.Split('.');
            Section(mapping, path).Children[new YamlScalarNode(path[^1])] = new YamlScalarNode(setting.Value);
        }
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(mapping)).Save(writer, assignAnchors: false);
        try
        {
            return TrainingOptions.Parse(writer.ToString(), source);
        }
        catch (InvalidInputException)
        {
            return null;
        }
    }

    private static TrainingOptions Set(TrainingOptions options, OptionSetting setting, string source)
    {
        string[] path = (TrainingOptionKeys.Resolve(setting.Key)
            ?? throw new InvalidInputException(source, $"unknown training option '{setting.Key}'; valid keys: {string.Join(", ", Keys)} (or a dotted path, e.g. optimisation.learning-rate)"))
            .Split('.');
        var mapping = TrainingOptionKeys.Mapping(options);
        Section(mapping, path).Children[new YamlScalarNode(path[^1])] = setting.Value is null ? new YamlScalarNode("~") : new YamlScalarNode(setting.Value);
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(mapping)).Save(writer, assignAnchors: false);
        try
        {
            var parsed = TrainingOptions.Parse(writer.ToString(), source);
            // YAML reads null into a number or a switch as its default: an option without a null of its own needs a value.
            if (setting.Value is null && Section(TrainingOptionKeys.Mapping(parsed), path).Children[new YamlScalarNode(path[^1])] is YamlScalarNode { Value: not ("" or "~" or "null") })
                throw new InvalidInputException(source, $"training option '{setting.Key}' needs a value");
            return parsed;
        }
        catch (InvalidInputException e) when (setting.Value is not null)
        {
            throw new InvalidInputException(source, $"training option '{setting.Key}': '{setting.Value}' is not accepted ({e.Problem[(e.Problem.IndexOf("): ", StringComparison.Ordinal) + 3)..]})", e);
        }
    }

    /// <summary>The mapping that holds the option at <paramref name="path"/>; a section YAML left empty becomes one.</summary>
    private static YamlMappingNode Section(YamlMappingNode root, string[] path)
    {
        var mapping = root;
        foreach (string key in path[..^1])
        {
            var name = new YamlScalarNode(key);
            if (!mapping.Children.TryGetValue(name, out var child) || child is not YamlMappingNode inner)
                mapping.Children[name] = inner = new YamlMappingNode();
            mapping = inner;
        }
        return mapping;
    }
}
