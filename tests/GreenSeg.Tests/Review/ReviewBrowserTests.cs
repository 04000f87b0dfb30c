using System.Diagnostics;
using System.Text.RegularExpressions;
using GreenSeg.Review;
using Shouldly;

namespace GreenSeg.Tests.Review;

/// <summary>Finds a headless-capable Chromium: GREENSEG_CHROMIUM, else chromium, chromium-browser or google-chrome on PATH.</summary>
internal static class Chromium
{
    public static string? Path { get; } = Find();

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("GREENSEG_CHROMIUM") is { Length: > 0 } configured) return File.Exists(configured) ? configured : null;
        string[] folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new[] { "chromium", "chromium-browser", "google-chrome" }
            .SelectMany(name => folders.Select(folder => System.IO.Path.Combine(folder, name)))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Runs headless Chromium on a page with the given extra arguments; returns standard output.</summary>
    public static string Run(string url, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        foreach (string argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=5000" }.Concat(arguments).Append(url))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium did not finish with {url}");
        }
        process.ExitCode.ShouldBe(0, error.Result);
        return output;
    }
}

public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (Chromium.Path is null)
            Skip = "needs Chromium (Debian: apt-get install chromium; .ci/run installs it) or GREENSEG_CHROMIUM=/path/to/chrome";
    }
}

/// <summary>The review page in a real browser: every mosaic decodes, sorting reorders the rows, a screenshot is taken.</summary>
public sealed class ReviewBrowserTests : IDisposable
{
    private readonly string _folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"greenseg-browser-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [BrowserFact]
    public void Every_image_loads_and_the_table_sorts_by_any_column()
    {
        var result = ReviewWriter.Write(_folder, "browser test", ReviewWriterTests.Cases());
        string url = new Uri(result.PagePath).AbsoluteUri;

        string byDice = Chromium.Run(url + "#sort=dice-asc", "--dump-dom");
        Attribute(byDice, "data-images-total").ShouldBe("3");
        Attribute(byDice, "data-images-loaded").ShouldBe("3");
        Attribute(byDice, "data-sorted-by").ShouldBe("dice-asc");
        RowNames(byDice).ShouldBe(["empty", "shifted &lt;b&gt;&amp;", "exact", "broken"]); // no Dice sorts last

        RowNames(Chromium.Run(url + "#sort=dice-desc", "--dump-dom")).ShouldBe(["exact", "shifted &lt;b&gt;&amp;", "empty", "broken"]);
        RowNames(Chromium.Run(url + "#sort=name-asc", "--dump-dom")).ShouldBe(["broken", "empty", "exact", "shifted &lt;b&gt;&amp;"]);
        RowNames(Chromium.Run(url + "#sort=flags-desc", "--dump-dom")).Take(3).ShouldBe(["shifted &lt;b&gt;&amp;", "empty", "broken"], ignoreOrder: true);

        string screenshot = System.IO.Path.Combine(_folder, "screenshot.png");
        Chromium.Run(url, $"--screenshot={screenshot}", "--window-size=1200,900");
        new FileInfo(screenshot).Length.ShouldBeGreaterThan(10_000);
    }

    private static string Attribute(string dom, string name) =>
        Regex.Match(dom, $"<body[^>]* {name}=\"([^\"]*)\"").Groups[1].Value;

    private static List<string> RowNames(string dom) =>
        [.. Regex.Matches(dom, "<tr data-name=\"([^\"]*)\"").Select(m => m.Groups[1].Value)];
}
