using System.ComponentModel;
using System.Globalization;
using GreenSeg.Common;

namespace GreenSeg.Cli.Commands;

/// <summary>
/// Reads a choice flag (--loss dice-bce, --lr-policy one-cycle, --precision bf16) by the names configs use
/// (<see cref="ChoiceNames"/>); Spectre's own enum reading knows only the C# names. Put it on the flag with
/// <c>[TypeConverter(typeof(ChoiceConverter&lt;LossKind&gt;))]</c>.
/// </summary>
public sealed class ChoiceConverter<T> : TypeConverter where T : struct, Enum
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text && ChoiceNames.TryParse(text, out T choice)
            ? choice
            : throw new UnknownChoiceException($"'{value}' is not one of {string.Join(", ", ChoiceNames.Names<T>())}");

    public override bool CanConvertTo(ITypeDescriptorContext? context, Type? destinationType) => destinationType == typeof(string);

    public override object ConvertTo(ITypeDescriptorContext? context, CultureInfo? culture, object? value, Type destinationType) =>
        value is T choice ? ChoiceNames.Name(choice) : base.ConvertTo(context, culture, value, destinationType)!;
}

/// <summary>A choice flag's value that is none of its names; the message lists them.</summary>
public sealed class UnknownChoiceException(string message) : FormatException(message);

/// <summary>
/// A choice option's default as the command line spells it (<c>left-right</c>, not <c>LeftRight</c>), so help shows a value
/// the option accepts; Spectre turns it back into the choice through the option's <see cref="ChoiceConverter{T}"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ChoiceDefaultAttribute<T>(T value) : DefaultValueAttribute(ChoiceNames.Name(value)) where T : struct, Enum;
