using GreenSeg.Common;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace GreenSeg.Training;

/// <summary>The options as YAML: config.yaml, <c>--config</c>, the study and cross-validation databases.</summary>
public sealed partial record TrainingOptions
{
    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(HyphenatedNamingConvention.Instance)
        .WithTypeConverter(new ChoiceYamlConverter())
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.Preserve)
        .Build();

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(HyphenatedNamingConvention.Instance)
        .WithTypeConverter(new ChoiceYamlConverter())
        .Build();

    public string ToYaml() => Serializer.Serialize(this);

    public void Save(string path) => AtomicFile.WriteAllText(path, ToYaml());

    /// <summary>Reads a YAML config; keys are the hyphenated option names (e.g. <c>learning-rate: auto</c>).</summary>
    public static TrainingOptions Load(string path) => ReadFile(path, writtenByGreenSeg: false);

    /// <summary>
    /// Reads options from YAML text; <paramref name="source"/> names it in errors. A config written before the
    /// sections (every key at the top level, <c>epochs: 25</c>) reads as its sectioned form: each top-level key of a
    /// section is moved under it first (<see cref="TrainingOptionKeys"/>); a key given both ways is refused.
    /// </summary>
    public static TrainingOptions Parse(string yaml, string source) => Read(yaml, source, writtenByGreenSeg: false);

    /// <summary>
    /// Reads options GreenSeg itself wrote (a run's config.yaml, a study's, a tuning's or a cross-validation's plan). Such
    /// text holds every option of the GreenSeg that wrote it, so a key it lacks is an option added since, and it meant the
    /// default that option had when it was added: where that default has changed (<see cref="DefaultsWhenAdded"/>), an
    /// earlier run resumes, and an earlier plan compares, as what it was.
    /// </summary>
    public static TrainingOptions ParseWritten(string yaml, string source) => Read(yaml, source, writtenByGreenSeg: true);

    /// <summary><see cref="ParseWritten"/> of a file GreenSeg wrote (a run's config.yaml).</summary>
    public static TrainingOptions LoadWritten(string path) => ReadFile(path, writtenByGreenSeg: true);

    private static TrainingOptions ReadFile(string path, bool writtenByGreenSeg)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "config file not found");
        RegularFile.Require(path);
        return Read(File.ReadAllText(path), path, writtenByGreenSeg);
    }

    /// <summary>Options whose default changed after they were added: the key, and the options as their first default.</summary>
    private static readonly (string Key, Func<TrainingOptions, TrainingOptions> AsWhenAdded)[] DefaultsWhenAdded =
    [
        // Added off; on (0.995) since cross-validation chose it on 2026-12-03.
        ("ema-decay", o => o with { Optimisation = o.Optimisation with { EmaDecay = 0 } }),
        // Added as z-score over nonzero voxels; percentile scaling since cross-validation chose it on 2026-12-03.
        ("normalization", o => o with { Preprocessing = o.Preprocessing with { Normalization = Transforms.IntensityNormalization.ZScoreNonzero } }),
        // Added as the largest component; the large ones since cross-validation chose them on 2026-12-04.
        ("components", o => o with { Postprocessing = o.Postprocessing with { Components = Transforms.ComponentSelection.Largest } }),
    ];

    private static TrainingOptions Read(string yaml, string source, bool writtenByGreenSeg)
    {
        try
        {
            var events = SectionedConfig.Regroup(ReadEvents(yaml), source);
            var options = Deserializer.Deserialize<TrainingOptions?>(new EventParser(events)) ?? new TrainingOptions();
            if (!writtenByGreenSeg) return options;
            var keys = events.OfType<Scalar>().Select(s => s.Value).ToHashSet(StringComparer.Ordinal);
            return DefaultsWhenAdded.Where(d => !keys.Contains(d.Key)).Aggregate(options, (o, d) => d.AsWhenAdded(o));
        }
        catch (YamlException e)
        {
            string[] lines = yaml.Split('\n');
            string at = e.Start.Line >= 1 && e.Start.Line <= lines.Length ? $" ('{lines[e.Start.Line - 1].Trim()}')" : "";
            throw new InvalidInputException(source, $"invalid config at line {e.Start.Line}{at}: {Explain(e)}", e);
        }
    }

    private static List<ParsingEvent> ReadEvents(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var events = new List<ParsingEvent>();
        try
        {
            while (parser.MoveNext()) events.Add(parser.Current!);
        }
        catch (Exception e) when (e is not YamlException)
        {
            // YamlDotNet's scanner throws a bare InvalidOperationException on some broken text (the deserializer wraps it the same way).
            var at = events.Count > 0 ? events[^1].End : Mark.Empty;
            throw new YamlException(at, at, "the text after this line is not YAML that can be read");
        }
        return events;
    }

    /// <summary>What a YAML error means in the config's own words, without .NET type names.</summary>
    private static string Explain(YamlException e) => e.InnerException switch
    {
        ChoiceException choice => choice.Message,
        FormatException or OverflowException => "the value is not a number of the kind this option takes, or is out of its range",
        InvalidCastException => "this key is a section: give its keys on the lines below it, indented (or remove it)",
        _ when UnknownKey().Match(e.Message) is { Success: true } unknown => Unknown(unknown.Groups[1].Value),
        _ => TypeName().Replace(e.InnerException?.Message ?? e.Message, "a value"),
    };

    private static string Unknown(string key) => TrainingOptionKeys.Resolve(key) is { } path && path.Contains('.')
        ? $"'{key}' is not a key of this section; it belongs under {path[..path.LastIndexOf('.')].Replace(".", ": ")}:"
        : "unknown option (keys are the long option names, e.g. learning-rate)";

    [System.Text.RegularExpressions.GeneratedRegex(@"Property '([^']*)' not found on type")]
    private static partial System.Text.RegularExpressions.Regex UnknownKey();

    [System.Text.RegularExpressions.GeneratedRegex(@"'?(System|GreenSeg)\.[A-Za-z0-9_.`\[\]]+'?")]
    private static partial System.Text.RegularExpressions.Regex TypeName();

    /// <summary>Hands the deserializer a list of events, as a parser of the text would.</summary>
    private sealed class EventParser(IReadOnlyList<ParsingEvent> events) : IParser
    {
        private int _next;

        public ParsingEvent? Current { get; private set; }

        public bool MoveNext()
        {
            Current = _next < events.Count ? events[_next++] : null;
            return Current is not null;
        }
    }
}

/// <summary>A choice's text that is none of its names.</summary>
internal sealed class ChoiceException(string message) : Exception(message);

/// <summary>Every enum of the options read and written by its <see cref="ChoiceNames"/> (<c>dice-bce</c>, <c>one-cycle</c>, <c>bf16</c>...).</summary>
internal sealed class ChoiceYamlConverter : IYamlTypeConverter
{
    public bool Accepts(Type type) => type.IsEnum;

    public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
    {
        var scalar = parser.Consume<Scalar>();
        if (ChoiceNames.TryParse(type, scalar.Value, out Enum? value)) return value;
        string problem = scalar.Value.Length == 0
            ? $"no value; give one of {string.Join(", ", ChoiceNames.Names(type))}"
            : $"the value is not one of the names this option accepts: {string.Join(", ", ChoiceNames.Names(type))}";
        throw new YamlException(scalar.Start, scalar.End, problem, new ChoiceException(problem));
    }

    public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
        emitter.Emit(new Scalar(ChoiceNames.Name((Enum)value!)));
}

/// <summary>
/// Where every key of a training config lives, read off the options' own YAML (nothing listed by hand): the
/// top-level keys, the sections (a top-level key whose value is a mapping), each section's keys (unique across
/// sections), and the dotted path of every single option (<c>optimisation.learning-rate</c>,
/// <c>loading.augmentation.rotation-probability</c>).
/// </summary>
public static class TrainingOptionKeys
{
    private static readonly YamlMappingNode Defaults = Mapping(new TrainingOptions());

    /// <summary>The sections, in config order: preprocessing, loading, compute, optimisation, schedule, stopping, energy.</summary>
    public static IReadOnlyList<string> Sections { get; } =
        [.. Defaults.Children.Where(kv => kv.Value is YamlMappingNode).Select(kv => Text(kv.Key))];

    /// <summary>The section each of the sections' keys belongs to (learning-rate → optimisation; augmentation → loading).</summary>
    public static IReadOnlyDictionary<string, string> SectionOf { get; } = Sections
        .SelectMany(section => ((YamlMappingNode)Defaults.Children[section]).Children.Keys.Select(key => (Key: Text(key), Section: section)))
        .ToDictionary(p => p.Key, p => p.Section, StringComparer.Ordinal);

    /// <summary>The dotted path of every single option (a scalar or a list, at any depth), in config order.</summary>
    public static IReadOnlyList<string> Paths { get; } = [.. OptionValues(Defaults, "").Select(v => v.Path)];

    /// <summary>
    /// The short keys, in config order: top-level options and the sections' own single options, as a config written
    /// before the sections had them (learning-rate, epochs, pue...).
    /// </summary>
    public static IReadOnlyList<string> ShortKeys { get; } = [.. Paths.Where(p => p.Count(c => c == '.') <= 1).Select(p => p[(p.IndexOf('.') + 1)..])];

    private static readonly HashSet<string> PathSet = [.. Paths];

    /// <summary>
    /// The dotted path of the option <paramref name="key"/> names: a path itself, or one that starts with a section's
    /// key (<c>learning-rate</c> → <c>optimisation.learning-rate</c>, <c>augmentation.shift-probability</c> →
    /// <c>loading.augmentation.shift-probability</c>); null when it names no single option.
    /// </summary>
    public static string? Resolve(string key)
    {
        if (PathSet.Contains(key)) return key;
        string first = key.Split('.')[0];
        return SectionOf.TryGetValue(first, out string? section) && PathSet.Contains($"{section}.{key}") ? $"{section}.{key}" : null;
    }

    /// <summary>The options as their config's top-level mapping.</summary>
    public static YamlMappingNode Mapping(TrainingOptions options)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(options.ToYaml()));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    /// <summary>Each single option's value as its config writes it (a list as <c>[a, b]</c>), by dotted path, in config order.</summary>
    public static IReadOnlyList<(string Path, string Value)> Values(TrainingOptions options) => [.. OptionValues(Mapping(options), "")];

    /// <summary>
    /// The options whose values differ between two recipes: path, value in the first, value in the second; an option a
    /// recipe leaves unset (blank in its config) reads <c>unset</c>, so that a difference never shows an empty side.
    /// </summary>
    public static IReadOnlyList<(string Path, string First, string Second)> Differences(TrainingOptions first, TrainingOptions second)
    {
        var secondValues = Values(second).ToDictionary(v => v.Path, v => v.Value, StringComparer.Ordinal);
        return [.. Values(first).Where(v => secondValues[v.Path] != v.Value).Select(v => (v.Path, Shown(v.Value), Shown(secondValues[v.Path])))];

        static string Shown(string value) => value.Length == 0 ? "unset" : value;
    }

    private static IEnumerable<(string Path, string Value)> OptionValues(YamlMappingNode mapping, string prefix)
    {
        foreach (var (key, value) in mapping.Children)
        {
            string path = prefix + Text(key);
            if (value is YamlMappingNode inner)
                foreach (var innerValue in OptionValues(inner, path + ".")) yield return innerValue;
            else
                yield return (path, ValueText(value));
        }
    }

    private static string ValueText(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Value ?? "",
        YamlSequenceNode sequence => $"[{string.Join(", ", sequence.Children.Select(ValueText))}]",
        _ => node.ToString(),
    };

    private static string Text(YamlNode node) => ((YamlScalarNode)node).Value!;
}

/// <summary>
/// A config's parse events with every section's keys under their section: a key of a section given at the top
/// level (as configs were written before the sections) is moved under it, keeping its lines for error messages.
/// </summary>
internal static class SectionedConfig
{
    private sealed record Entry(string? Key, int Start, int End)
    {
        public int Line(IReadOnlyList<ParsingEvent> events) => (int)events[Start].Start.Line;
    }

    public static IReadOnlyList<ParsingEvent> Regroup(List<ParsingEvent> events, string source)
    {
        // StreamStart, DocumentStart, then the root node.
        if (events.Count < 3 || events[2] is not MappingStart) return events;
        int rootEnd = NodeEnd(events, 2);
        var entries = Entries(events, 2, rootEnd);
        var moved = entries.Where(e => e.Key is not null && TrainingOptionKeys.SectionOf.ContainsKey(e.Key)).ToList();
        if (moved.Count == 0) return events;

        var sections = entries.Where(e => e.Key is not null && TrainingOptionKeys.Sections.Contains(e.Key)).ToList();
        foreach (var flat in moved)
        {
            string section = TrainingOptionKeys.SectionOf[flat.Key!];
            foreach (var given in sections.Where(s => s.Key == section && events[s.Start + 1] is MappingStart))
                if (Entries(events, given.Start + 1, NodeEnd(events, given.Start + 1)).FirstOrDefault(e => e.Key == flat.Key) is { } nested)
                    throw new InvalidInputException(source, $"'{flat.Key}' is given twice: at the top level (line {flat.Line(events)}) and under {section}: " +
                        $"(line {nested.Line(events)}); keep one, under {section}:");
        }

        var result = new List<ParsingEvent>(events.Count + 8);
        result.AddRange(events.Take(3));
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            string? section = entry.Key is null ? null
                : TrainingOptionKeys.SectionOf.TryGetValue(entry.Key, out string? of) ? of
                : sections.Contains(entry) && moved.Any(m => TrainingOptionKeys.SectionOf[m.Key!] == entry.Key) ? entry.Key
                : null;
            if (section is null) result.AddRange(Span(events, entry));
            else if (written.Add(section))
                WriteSection(result, events, section, sections.FirstOrDefault(s => s.Key == section), [.. moved.Where(m => TrainingOptionKeys.SectionOf[m.Key!] == section)]);
        }
        result.AddRange(events.Skip(rootEnd - 1)); // the root's MappingEnd, and what follows it
        return result;
    }

    /// <summary>
    /// A section with the keys moved under it: after its own keys when it is given as a mapping, alone when it is not
    /// given or given empty ("loading:"); a section given as anything else is left as it is, for the deserializer to refuse.
    /// </summary>
    private static void WriteSection(List<ParsingEvent> result, List<ParsingEvent> events, string section, Entry? given, List<Entry> moved)
    {
        var value = given is null ? null : events[given.Start + 1];
        if (value is MappingStart)
        {
            var own = Span(events, given!).ToList();
            result.AddRange(own.Take(own.Count - 1));
            foreach (var flat in moved) result.AddRange(Span(events, flat));
            result.Add(own[^1]);
            return;
        }
        if (given is not null && value is not Scalar { Value: "" or "~" or "null" or "Null" or "NULL", Style: ScalarStyle.Plain })
        {
            result.AddRange(Span(events, given));
            return;
        }
        var mark = events[moved[0].Start];
        result.Add(new Scalar(AnchorName.Empty, TagName.Empty, section, ScalarStyle.Plain, true, false, mark.Start, mark.End, true));
        result.Add(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Block, mark.Start, mark.End));
        foreach (var flat in moved) result.AddRange(Span(events, flat));
        result.Add(new MappingEnd(mark.Start, mark.End));
    }

    private static IEnumerable<ParsingEvent> Span(List<ParsingEvent> events, Entry entry) => events.Skip(entry.Start).Take(entry.End - entry.Start);

    /// <summary>The key-value pairs of the mapping starting at <paramref name="start"/> (ending before <paramref name="end"/>): each pair's events [Start, End).</summary>
    private static List<Entry> Entries(List<ParsingEvent> events, int start, int end)
    {
        var entries = new List<Entry>();
        for (int i = start + 1; i < end - 1;)
        {
            int valueStart = NodeEnd(events, i);
            int next = NodeEnd(events, valueStart);
            entries.Add(new Entry(events[i] is Scalar key ? key.Value : null, i, next));
            i = next;
        }
        return entries;
    }

    /// <summary>The index just past the node that starts at <paramref name="start"/>.</summary>
    private static int NodeEnd(List<ParsingEvent> events, int start)
    {
        int depth = 0, i = start;
        do
        {
            depth += events[i].NestingIncrease;
            i++;
        } while (depth > 0);
        return i;
    }
}
