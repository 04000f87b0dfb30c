using System.Globalization;
using GreenSeg.Common;

namespace GreenSeg.Energy;

/// <summary>
/// Average carbon intensity of a country's electricity generation in one year.
/// <see cref="Checked"/> is true where the value was compared with the published source when this
/// table was written; false where it was transcribed from the same dataset without that comparison
/// (check it against the source before citing a result that depends on it, or pass --carbon-intensity).
/// </summary>
public sealed record CountryIntensity(string IsoCode, string Name, double GramsPerKilowattHour, bool Checked);

/// <summary>
/// Lifecycle carbon intensity of electricity generation, gCO2eq/kWh, year 2023.
/// Source: Ember, Yearly Electricity Data (2024 release) and Energy Institute Statistical Review,
/// as published by Our World in Data, "Carbon intensity of electricity generation"
/// (ourworldindata.org/grapher/carbon-intensity-electricity). World average 481 g/kWh and the values
/// for POL (662), SWE (41) and NOR (30) from Ember's 2023 figures as charted by Statista
/// (statistics/943137 and the EU 2023 country chart). Generation-based, so imports are not counted.
/// </summary>
public static class CarbonIntensityTable
{
    public const int Year = 2023;
    public const string Source = "Ember 2023 (lifecycle, via Our World in Data)";
    public const string WorldCode = "WLD";

    public static IReadOnlyList<CountryIntensity> Countries { get; } =
    [
        new(WorldCode, "World", 481, true),
        new("ARG", "Argentina", 354, true), new("AUS", "Australia", 549, true), new("AUT", "Austria", 111, true),
        new("BGD", "Bangladesh", 691, true), new("BEL", "Belgium", 138, true), new("BRA", "Brazil", 98, true),
        new("BGR", "Bulgaria", 335, true), new("CAN", "Canada", 170, true), new("CHL", "Chile", 291, true),
        new("CHN", "China", 582, true), new("COL", "Colombia", 260, true), new("HRV", "Croatia", 205, true),
        new("CZE", "Czechia", 450, true), new("DNK", "Denmark", 152, true), new("EGY", "Egypt", 570, true),
        new("EST", "Estonia", 417, true), new("FIN", "Finland", 79, true), new("FRA", "France", 56, true),
        new("DEU", "Germany", 381, true), new("GRC", "Greece", 337, true), new("HUN", "Hungary", 204, true),
        new("IND", "India", 713, true), new("IRN", "Iran", 655, true), new("IRL", "Ireland", 291, true),
        new("NOR", "Norway", 30, true), new("POL", "Poland", 662, true), new("SWE", "Sweden", 41, true),
        new("ISR", "Israel", 540, false), new("ITA", "Italy", 288, false), new("JPN", "Japan", 485, false),
        new("KAZ", "Kazakhstan", 821, false), new("KOR", "South Korea", 432, false), new("MYS", "Malaysia", 606, false),
        new("MEX", "Mexico", 423, false), new("NLD", "Netherlands", 268, false), new("NZL", "New Zealand", 112, false),
        new("NGA", "Nigeria", 523, false), new("PAK", "Pakistan", 440, false), new("PHL", "Philippines", 610, false),
        new("PRT", "Portugal", 112, false), new("ROU", "Romania", 241, false), new("RUS", "Russia", 441, false),
        new("SAU", "Saudi Arabia", 706, false), new("SGP", "Singapore", 471, false), new("ZAF", "South Africa", 708, false),
        new("ESP", "Spain", 174, false), new("CHE", "Switzerland", 35, false), new("TWN", "Taiwan", 561, false),
        new("THA", "Thailand", 550, false), new("TUR", "Turkey", 402, false), new("ARE", "United Arab Emirates", 492, false),
        new("GBR", "United Kingdom", 238, false), new("USA", "United States", 369, false), new("VNM", "Vietnam", 475, false),
        new("IDN", "Indonesia", 676, false),
    ];

    public static CountryIntensity? Find(string isoCode) =>
        Countries.FirstOrDefault(c => string.Equals(c.IsoCode, isoCode.Trim(), StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// What turns energy into CO2eq: grams per kWh of the grid, times the data centre's PUE (facility
/// energy per IT energy; 1.0 for a workstation). Emissions = kWh × PUE × intensity.
/// </summary>
public sealed record CarbonFactors(double GramsPerKilowattHour, double Pue, string CountryIsoCode, string CountryName, string Source)
{
    public double GramsFor(double kilowattHours) => kilowattHours * Pue * GramsPerKilowattHour;

    /// <summary>
    /// Resolves --country / --carbon-intensity / --pue. An explicit intensity wins over the table; no
    /// country means the world average.
    /// </summary>
    public static CarbonFactors Resolve(string? country, double? gramsPerKilowattHour, double pue)
    {
        if (!(pue >= 1.0) || double.IsInfinity(pue))
            throw new GreenSegException(Invariant($"--pue {pue}: expected a number ≥ 1.0 (facility energy / IT energy; 1.0 for a workstation)"));
        if (gramsPerKilowattHour is double g && (!(g >= 0) || double.IsInfinity(g)))
            throw new GreenSegException(Invariant($"--carbon-intensity {g}: expected gCO2eq/kWh ≥ 0"));

        CountryIntensity? entry = null;
        if (!string.IsNullOrWhiteSpace(country))
        {
            entry = CarbonIntensityTable.Find(country);
            if (entry is null && gramsPerKilowattHour is null)
                throw new GreenSegException(
                    $"--country {country}: not in the carbon intensity table. Give the grid's intensity with " +
                    "--carbon-intensity G (gCO2eq/kWh, e.g. from ourworldindata.org/grapher/carbon-intensity-electricity), " +
                    $"or one of: {string.Join(", ", CarbonIntensityTable.Countries.Select(c => c.IsoCode).Order(StringComparer.Ordinal))}");
        }
        entry ??= country is null ? CarbonIntensityTable.Find(CarbonIntensityTable.WorldCode) : null;

        string iso = entry?.IsoCode ?? country!.Trim().ToUpperInvariant();
        string name = entry?.Name ?? iso;
        if (gramsPerKilowattHour is double given)
            return new CarbonFactors(given, pue, iso, name, Invariant($"--carbon-intensity {given} g/kWh"));

        string source = entry!.IsoCode == CarbonIntensityTable.WorldCode && country is null
            ? $"world average, no --country given ({CarbonIntensityTable.Source})"
            : CarbonIntensityTable.Source + (entry.Checked ? "" : "; value not yet checked against the source");
        return new CarbonFactors(entry.GramsPerKilowattHour, pue, entry.IsoCode, entry.Name, source);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
