using GreenSeg.Common;
using GreenSeg.Energy;

namespace GreenSeg.Tests.Energy;

public sealed class CarbonTests
{
    [Fact]
    public void Poland_with_pue_is_checked_by_hand()
    {
        var carbon = CarbonFactors.Resolve("pol", null, 1.2);

        carbon.CountryIsoCode.ShouldBe("POL");
        carbon.CountryName.ShouldBe("Poland");
        // 0.5 kWh × 1.2 × 662 g/kWh = 397.2 g
        carbon.GramsFor(0.5).ShouldBe(397.2, 1e-9);
    }

    [Fact]
    public void Explicit_intensity_overrides_the_table_and_works_for_unlisted_countries()
    {
        CarbonFactors.Resolve("POL", 100, 1.0).GramsFor(2).ShouldBe(200);
        var unlisted = CarbonFactors.Resolve("isl", 28, 1.0);
        (unlisted.CountryIsoCode, unlisted.GramsPerKilowattHour).ShouldBe(("ISL", 28.0));
        unlisted.Source.ShouldContain("--carbon-intensity");
    }

    [Fact]
    public void No_country_means_the_world_average()
    {
        var carbon = CarbonFactors.Resolve(null, null, 1.0);
        (carbon.CountryIsoCode, carbon.GramsPerKilowattHour).ShouldBe(("WLD", 481.0));
        carbon.Source.ShouldContain("no --country");
    }

    [Fact]
    public void Unknown_country_says_how_to_give_a_value()
    {
        var error = Should.Throw<GreenSegException>(() => CarbonFactors.Resolve("XYZ", null, 1.0));
        error.Message.ShouldContain("--carbon-intensity");
        error.Message.ShouldContain("POL");
    }

    [Theory]
    [InlineData(0.9)]
    [InlineData(double.NaN)]
    public void Pue_below_one_is_refused(double pue) =>
        Should.Throw<GreenSegException>(() => CarbonFactors.Resolve("POL", null, pue)).Message.ShouldContain("--pue");

    [Fact]
    public void Negative_intensity_is_refused() =>
        Should.Throw<GreenSegException>(() => CarbonFactors.Resolve(null, -1, 1.0));

    [Fact]
    public void Table_covers_the_study_setting_the_largest_economies_and_the_world()
    {
        string[] required = ["WLD", "POL", "USA", "CHN", "DEU", "JPN", "IND", "GBR", "FRA", "ITA", "BRA", "CAN", "RUS", "KOR",
            "AUS", "ESP", "MEX", "IDN", "NLD", "SAU", "TUR", "CHE", "TWN", "SWE", "BEL", "ARG", "IRL", "AUT", "NOR", "ISR",
            "ARE", "THA", "SGP", "NGA", "VNM", "MYS", "PHL", "ZAF", "BGD", "EGY", "DNK", "COL", "IRN", "PAK", "CHL"];
        foreach (string code in required) CarbonIntensityTable.Find(code).ShouldNotBeNull(code);
        CarbonIntensityTable.Countries.Select(c => c.IsoCode).ShouldBeUnique();
        CarbonIntensityTable.Countries.ShouldAllBe(c => c.IsoCode.Length == 3 && c.GramsPerKilowattHour > 0 && c.GramsPerKilowattHour < 1200);
    }
}
