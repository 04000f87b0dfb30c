using System.Globalization;

namespace GreenSeg.Studies.Reporting;

/// <summary>How the report (and the study command's table) writes numbers: invariant culture, "-" for missing.</summary>
public static class ReportFormat
{
    public const string Missing = "-";

    public static string Number(double? value, int decimals) =>
        value is double v && double.IsFinite(v) ? v.ToString("F" + decimals, CultureInfo.InvariantCulture) : Missing;

    public static string Dice(double? mean, double? sd) =>
        mean is null ? Missing : sd is null ? Number(mean, 4) : $"{Number(mean, 4)} ± {Number(sd, 4)}";

    /// <summary>2.0 → "2.00x".</summary>
    public static string Factor(double? value) => value is null ? Missing : Number(value, 2) + "x";

    /// <summary>0.25 → "25.0%"; signed when asked (for changes).</summary>
    public static string Percent(double? fraction, bool signed = false) =>
        fraction is double f && double.IsFinite(f)
            ? (signed && f > 0 ? "+" : "") + (f * 100).ToString("F1", CultureInfo.InvariantCulture) + "%"
            : Missing;

    public static string Signed(double? value, int decimals) =>
        value is double v && double.IsFinite(v) ? (v > 0 ? "+" : "") + Number(v, decimals) : Missing;

    public static string Millions(long count) => (count / 1e6).ToString("F3", CultureInfo.InvariantCulture) + " M";
}
