using GreenSeg.Common;
using GreenSeg.Training;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Studies;

/// <summary>One training option set by a study (or the command line): its YAML key and scalar text (null = YAML null).</summary>
public sealed record OptionSetting(string Key, string? Value)
{
    public override string ToString() => $"{Key}: {Value ?? "~"}";
}

/// <summary>
/// Training options addressed by the keys of a run's config.yaml (<c>model-width</c>, <c>learning-rate</c>…),
/// so a study sets exactly what <c>greenseg train --config</c> reads: the settings are written into the options'
/// own YAML and read back by the same deserializer, with the same types, parsing and errors.
/// </summary>
public static class OptionOverrides
{
    /// <summary>Every key a training config may hold, in declaration order (the keys of a config.yaml, nulls included).</summary>
    public static IReadOnlyList<string> Keys { get; } = [.. Mapping(new TrainingOptions()).Children.Keys.Select(k => ((YamlScalarNode)k).Value!)];

    private static readonly HashSet<string> KeySet = [.. Keys];

    public static bool IsKey(string key) => KeySet.Contains(key);

    /// <summary>A copy of <paramref name="options"/> with the settings applied in order (later ones win).</summary>
    /// <param name="source">Names the file (and place) the settings came from, for error messages.</param>
    public static TrainingOptions Apply(TrainingOptions options, IEnumerable<OptionSetting> settings, string source)
    {
        var result = options;
        foreach (var setting in settings) result = Set(result, setting, source);
        return result;
    }

    private static TrainingOptions Set(TrainingOptions options, OptionSetting setting, string source)
    {
        if (!IsKey(setting.Key))
            throw new InvalidInputException(source, $"unknown training option '{setting.Key}'; valid keys: {string.Join(", ", Keys)}");
        var mapping = Mapping(options);
        mapping.Children[new YamlScalarNode(setting.Key)] = setting.Value is null ? new YamlScalarNode("~") : new YamlScalarNode(setting.Value);
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(mapping)).Save(writer, assignAnchors: false);
        try
        {
            var parsed = TrainingOptions.Parse(writer.ToString(), source);
            // YAML reads null into a number or a switch as its default: an option without a null of its own needs a value.
            if (setting.Value is null && Mapping(parsed).Children[new YamlScalarNode(setting.Key)] is YamlScalarNode { Value: not ("" or "~" or "null") })
                throw new InvalidInputException(source, $"training option '{setting.Key}' needs a value");
            return parsed;
        }
        catch (InvalidInputException e) when (setting.Value is not null)
        {
            throw new InvalidInputException(source, $"training option '{setting.Key}': '{setting.Value}' is not accepted ({e.Problem[(e.Problem.IndexOf("): ", StringComparison.Ordinal) + 3)..]})", e);
        }
    }

    /// <summary>The options as their config.yaml's top-level mapping.</summary>
    private static YamlMappingNode Mapping(TrainingOptions options)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(options.ToYaml()));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }
}
