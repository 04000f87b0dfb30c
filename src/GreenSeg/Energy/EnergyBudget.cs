using System.Globalization;
using System.Text.RegularExpressions;
using GreenSeg.Common;

namespace GreenSeg.Energy;

/// <summary>
/// An energy allowance for a run ("50kJ", "2.5Wh", "0.1kWh"). Unit prefixes follow SI case: k or K for
/// kilo, M for mega; a lower-case "m" (milli) is refused because nobody budgets millijoules and
/// "mWh" for "MWh" would be a costly typo.
/// </summary>
public sealed partial record EnergyBudget
{
    private static readonly Dictionary<string, double> JoulesPerUnit = new(StringComparer.Ordinal)
    {
        ["J"] = 1, ["j"] = 1,
        ["kJ"] = 1e3, ["KJ"] = 1e3, ["kj"] = 1e3,
        ["MJ"] = 1e6,
        ["Wh"] = EnergyUnits.JoulesPerWattHour, ["wh"] = EnergyUnits.JoulesPerWattHour, ["WH"] = EnergyUnits.JoulesPerWattHour,
        ["kWh"] = EnergyUnits.JoulesPerKilowattHour, ["KWh"] = EnergyUnits.JoulesPerKilowattHour,
        ["kwh"] = EnergyUnits.JoulesPerKilowattHour, ["KWH"] = EnergyUnits.JoulesPerKilowattHour,
        ["MWh"] = 1e3 * EnergyUnits.JoulesPerKilowattHour, ["MWH"] = 1e3 * EnergyUnits.JoulesPerKilowattHour,
    };

    public EnergyBudget(double joules)
    {
        if (!(joules > 0) || double.IsInfinity(joules)) throw new ArgumentOutOfRangeException(nameof(joules), joules, "an energy budget must be positive and finite");
        Joules = joules;
    }

    public double Joules { get; }

    public bool IsExhausted(double joulesSpent) => joulesSpent >= Joules;

    public double Remaining(double joulesSpent) => Math.Max(0, Joules - joulesSpent);

    public override string ToString() => EnergyUnits.Describe(Joules);

    public static EnergyBudget Parse(string text) =>
        TryParse(text, out var budget, out string problem) ? budget! : throw new GreenSegException($"energy budget '{text}': {problem}");

    public static bool TryParse(string? text, out EnergyBudget? budget, out string problem)
    {
        budget = null;
        Match match = Pattern().Match(text ?? "");
        if (!match.Success)
        {
            problem = "expected a positive number and a unit, e.g. 50kJ, 2.5Wh, 0.1kWh";
            return false;
        }
        string unit = match.Groups["unit"].Value;
        if (!JoulesPerUnit.TryGetValue(unit, out double factor))
        {
            problem = $"unknown unit '{unit}'; use J, kJ, MJ, Wh, kWh or MWh";
            return false;
        }
        double value = double.Parse(match.Groups["number"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        double joules = value * factor;
        if (!(joules > 0) || double.IsInfinity(joules))
        {
            problem = "the amount must be positive";
            return false;
        }
        budget = new EnergyBudget(joules);
        problem = "";
        return true;
    }

    [GeneratedRegex(@"^\s*(?<number>\d+(\.\d+)?([eE][+-]?\d+)?)\s*(?<unit>[A-Za-z]+)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>Outcome of one epoch's green-stop check, for the run's metrics.</summary>
public sealed record GreenStopDecision(bool Stop, double? DicePerKilojoule, string Reason);

/// <summary>
/// Ends training when it stops paying for its energy: over the last K epochs, the gain in best
/// validation Dice per kJ spent falls below a threshold. The best-so-far Dice is used (not the
/// latest) so one noisy epoch neither triggers nor prevents a stop.
/// </summary>
public sealed class GreenStopRule
{
    private readonly List<(double Joules, double BestDice)> _epochs = [];

    public GreenStopRule(int windowEpochs, double minDicePerKilojoule)
    {
        if (windowEpochs < 1) throw new ArgumentOutOfRangeException(nameof(windowEpochs), windowEpochs, "the window needs at least one epoch");
        if (!(minDicePerKilojoule >= 0) || double.IsInfinity(minDicePerKilojoule))
            throw new ArgumentOutOfRangeException(nameof(minDicePerKilojoule), minDicePerKilojoule, "the threshold must be ≥ 0 and finite");
        WindowEpochs = windowEpochs;
        MinDicePerKilojoule = minDicePerKilojoule;
    }

    public int WindowEpochs { get; }
    public double MinDicePerKilojoule { get; }

    /// <summary>Records an epoch: the run's cumulative energy so far (J) and this epoch's validation Dice.</summary>
    public GreenStopDecision Observe(double cumulativeJoules, double validationDice)
    {
        if (double.IsNaN(cumulativeJoules) || double.IsNaN(validationDice)) throw new ArgumentException("energy and Dice must be numbers");
        if (_epochs.Count > 0 && cumulativeJoules < _epochs[^1].Joules)
            throw new ArgumentException($"cumulative energy went down ({_epochs[^1].Joules} J then {cumulativeJoules} J)", nameof(cumulativeJoules));
        double best = _epochs.Count > 0 ? Math.Max(_epochs[^1].BestDice, validationDice) : validationDice;
        _epochs.Add((cumulativeJoules, best));

        if (_epochs.Count <= WindowEpochs)
            return new GreenStopDecision(false, null, $"{_epochs.Count} epoch(s) seen; the rule needs {WindowEpochs + 1}");

        var (startJoules, startBest) = _epochs[^(WindowEpochs + 1)];
        double kilojoules = (cumulativeJoules - startJoules) / 1000.0;
        if (kilojoules <= 0)
            return new GreenStopDecision(false, null, $"no energy spent over the last {WindowEpochs} epoch(s)");
        double rate = (best - startBest) / kilojoules;
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"best validation Dice +{best - startBest:0.#####} over the last {WindowEpochs} epoch(s) for {kilojoules:0.###} kJ: {rate:0.#####} per kJ");
        return rate < MinDicePerKilojoule
            ? new GreenStopDecision(true, rate, string.Create(CultureInfo.InvariantCulture, $"{summary} < {MinDicePerKilojoule} per kJ: stop"))
            : new GreenStopDecision(false, rate, string.Create(CultureInfo.InvariantCulture, $"{summary} ≥ {MinDicePerKilojoule} per kJ: continue"));
    }
}
