using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Serialization;

namespace GreenSeg.Common;

/// <summary>Another spelling a choice accepts besides its name (e.g. <c>bf16</c> for <c>bf16-mixed</c>); never written.</summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
public sealed class AlsoAcceptedAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// The names of a closed choice (an enum) as configs and command lines spell them: a member's
/// <c>[EnumMember(Value = "dice-bce")]</c>, else its C# name. Reading also accepts the C# name and the
/// <see cref="AlsoAcceptedAttribute"/> spellings, ignoring case; numbers are never accepted. YAML configs
/// (TrainingOptions) and the CLI's converter read and write choices through this one vocabulary.
/// </summary>
public static class ChoiceNames
{
    private sealed record Vocabulary(IReadOnlyList<string> Names, IReadOnlyDictionary<Enum, string> NameOf, IReadOnlyDictionary<string, Enum> Accepted);

    private static readonly ConcurrentDictionary<Type, Vocabulary> Vocabularies = new();

    /// <summary>The names of <paramref name="type"/>'s members, in declaration order.</summary>
    public static IReadOnlyList<string> Names(Type type) => Of(type).Names;

    public static IReadOnlyList<string> Names<T>() where T : struct, Enum => Names(typeof(T));

    /// <summary>The name a config writes for <paramref name="value"/> (a value outside the enum: its number).</summary>
    public static string Name(Enum value) => Of(value.GetType()).NameOf.TryGetValue(value, out string? name) ? name : value.ToString();

    public static bool TryParse(Type type, string? text, out Enum? value)
    {
        value = null;
        return text is not null && Of(type).Accepted.TryGetValue(text.Trim(), out value);
    }

    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum
    {
        bool ok = TryParse(typeof(T), text, out Enum? parsed);
        value = ok ? (T)parsed! : default;
        return ok;
    }

    /// <summary>Reads a name; an unknown one is a <see cref="GreenSegException"/> naming <paramref name="option"/> and listing the names.</summary>
    public static T Parse<T>(string text, string option) where T : struct, Enum =>
        TryParse(text, out T value) ? value : throw new GreenSegException($"{option} '{text}': {Expected(typeof(T))}");

    /// <summary>"expected one of a, b, c": what an error about a bad name says.</summary>
    public static string Expected(Type type) => $"expected one of {string.Join(", ", Names(type))}";

    private static Vocabulary Of(Type type) => Vocabularies.GetOrAdd(type, Build);

    private static Vocabulary Build(Type type)
    {
        if (!type.IsEnum) throw new ArgumentException($"{type.Name} is not an enum", nameof(type));
        var names = new List<string>();
        var nameOf = new Dictionary<Enum, string>();
        var accepted = new Dictionary<string, Enum>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var value = (Enum)field.GetValue(null)!;
            string name = field.GetCustomAttribute<EnumMemberAttribute>()?.Value ?? field.Name;
            names.Add(name);
            nameOf.TryAdd(value, name);
            foreach (string spelling in new[] { name, field.Name }.Concat(field.GetCustomAttributes<AlsoAcceptedAttribute>().Select(a => a.Name)))
                accepted.TryAdd(spelling, value);
        }
        return new Vocabulary(names, nameOf, accepted);
    }
}
