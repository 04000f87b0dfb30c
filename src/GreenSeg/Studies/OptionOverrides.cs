using System.Reflection;
using GreenSeg.Common;
using GreenSeg.Training;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace GreenSeg.Studies;

/// <summary>One training option set by a study (or the command line): its YAML key and scalar text (null = YAML null).</summary>
public sealed record OptionSetting(string Key, string? Value)
{
    public override string ToString() => $"{Key}: {Value ?? "~"}";
}

/// <summary>
/// Training options addressed by the keys of a run's config.yaml (<c>model-width</c>, <c>learning-rate</c>…),
/// so a study sets exactly what <c>greenseg train --config</c> reads, with the same types and parsing.
/// </summary>
public static class OptionOverrides
{
    private static readonly Dictionary<string, PropertyInfo> Properties = typeof(TrainingOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod is not null && p.GetCustomAttribute<YamlIgnoreAttribute>() is null)
        .ToDictionary(p => HyphenatedNamingConvention.Instance.Apply(p.Name), StringComparer.Ordinal);

    /// <summary>Every key a training config may hold, in declaration order.</summary>
    public static IReadOnlyList<string> Keys { get; } = Properties.Keys.ToArray();

    public static bool IsKey(string key) => Properties.ContainsKey(key);

    /// <summary>A copy of <paramref name="options"/> with the settings applied in order (later ones win).</summary>
    /// <param name="source">Names the file (and place) the settings came from, for error messages.</param>
    public static TrainingOptions Apply(TrainingOptions options, IEnumerable<OptionSetting> settings, string source)
    {
        var result = options with { };
        foreach (var setting in settings) Set(result, setting, source);
        return result;
    }

    private static void Set(TrainingOptions target, OptionSetting setting, string source)
    {
        if (!Properties.TryGetValue(setting.Key, out var property))
            throw new InvalidInputException(source, $"unknown training option '{setting.Key}'; valid keys: {string.Join(", ", Keys)}");
        if (setting.Value is null)
        {
            bool nullable = !property.PropertyType.IsValueType || Nullable.GetUnderlyingType(property.PropertyType) is not null;
            if (!nullable) throw new InvalidInputException(source, $"training option '{setting.Key}' needs a value");
            property.SetValue(target, null);
            return;
        }
        // Parse the value exactly as a config.yaml would: a one-key document through the same deserializer.
        var document = new YamlMappingNode { { setting.Key, new YamlScalarNode(setting.Value) } };
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(document)).Save(writer, assignAnchors: false);
        TrainingOptions parsed;
        try
        {
            parsed = TrainingOptions.Parse(writer.ToString(), source);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException(source, $"training option '{setting.Key}': '{setting.Value}' is not a valid {Describe(property.PropertyType)}", e);
        }
        property.SetValue(target, property.GetValue(parsed));
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int)) return "whole number";
        if (type == typeof(double)) return "number";
        if (type == typeof(bool)) return "true/false";
        return "text";
    }
}
