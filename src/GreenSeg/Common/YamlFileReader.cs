using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GreenSeg.Common;

/// <summary>
/// Reads a hand-written YAML file (a study, a search space) node by node, every error naming the file and the line:
/// the parsing, the mapping of allowed keys and the scalars both file kinds share.
/// </summary>
public class YamlFileReader(string source)
{
    /// <summary>A file's full path and text, refused by name when it is missing or not a regular file.</summary>
    public static (string Path, string Text) ReadFile(string path, string kind)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new InvalidInputException(full, $"{kind} not found");
        RegularFile.Require(full);
        return (full, File.ReadAllText(full));
    }

    /// <summary>The text's root mapping; invalid YAML, or a root that is not a mapping (<paramref name="notAMapping"/>), is refused.</summary>
    public static YamlMappingNode Root(string yaml, string source, string notAMapping)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new InvalidInputException(source, $"line {e.Start.Line}: not valid YAML ({e.InnerException?.Message ?? e.Message})", e);
        }
        return stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode root
            ? root
            : throw new InvalidInputException(source, notAMapping);
    }

    public InvalidInputException Error(YamlNode node, string problem) => new(source, $"line {node.Start.Line}: {problem}");

    /// <summary>A mapping's values by key; a key not in <paramref name="allowed"/>, or given twice, is refused.</summary>
    public Dictionary<string, YamlNode> Fields(YamlNode node, IReadOnlyList<string> allowed, string where)
    {
        if (node is not YamlMappingNode mapping) throw Error(node, $"{where} must be a mapping of keys to values");
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            string key = Text(keyNode, where);
            if (!allowed.Contains(key)) throw Error(keyNode, $"unknown key '{key}' in {where}; expected one of: {string.Join(", ", allowed)}");
            if (!fields.TryAdd(key, value)) throw Error(keyNode, $"key '{key}' appears twice in {where}");
        }
        return fields;
    }

    public string Text(YamlNode node, string what) => node is YamlScalarNode { Value: { } value }
        ? value
        : throw Error(node, $"{what} must be a single value");

    public int Integer(YamlNode node, string what)
    {
        string text = Text(node, what);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : throw Error(node, $"{what} must be a whole number, got '{text}'");
    }

    public double Number(YamlNode node, string what)
    {
        string text = Text(node, what);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : throw Error(node, $"{what} must be a number, got '{text}'");
    }

    /// <summary>A scalar's text, or null for YAML's null (a plain <c>~</c>, <c>null</c> or nothing; a quoted "null" is text).</summary>
    public string? ScalarOrNull(YamlNode node, string what)
    {
        string text = Text(node, what);
        bool isNull = node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } && text is "~" or "null" or "Null" or "NULL" or "";
        return isNull ? null : text;
    }
}
