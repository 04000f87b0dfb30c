using System.Reflection;
using GreenSeg.Common;

namespace GreenSeg.Studies;

/// <summary>The studies shipped inside the library (Studies/Presets/*.yaml, embedded resources).</summary>
public static class StudyPresets
{
    private const string Prefix = "GreenSeg.Studies.Presets.";

    public static IReadOnlyList<string> Names { get; } = typeof(StudyPresets).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^".yaml".Length])
        .Order(StringComparer.Ordinal)
        .ToArray();

    public static bool Exists(string name) => Names.Contains(name);

    /// <summary>The preset's YAML text, as shipped.</summary>
    public static string Text(string name)
    {
        if (!Exists(name)) throw new GreenSegException($"unknown study preset '{name}'; presets: {string.Join(", ", Names)} (or give a study .yaml file)");
        using var stream = typeof(StudyPresets).Assembly.GetManifestResourceStream(Prefix + name + ".yaml")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static StudyDefinition Load(string name) => StudyDefinitionParser.Parse(Text(name), $"preset '{name}'", name);

    /// <summary>A study from a preset name or a YAML file path (a path that exists wins over a preset of the same name).</summary>
    public static StudyDefinition Resolve(string presetOrPath)
    {
        if (File.Exists(presetOrPath)) return StudyDefinitionParser.Load(presetOrPath);
        if (Exists(presetOrPath)) return Load(presetOrPath);
        if (presetOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || presetOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            throw new InvalidInputException(Path.GetFullPath(presetOrPath), "study file not found");
        throw new GreenSegException($"'{presetOrPath}' is neither a study file nor a preset; presets: {string.Join(", ", Names)}");
    }
}
