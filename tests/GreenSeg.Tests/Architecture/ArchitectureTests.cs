using System.Text.RegularExpressions;

namespace GreenSeg.Tests.Architecture;

/// <summary>docs/ARCHITECTURE.md's table of which folder may use which, held against the library's code.</summary>
public partial class ArchitectureTests
{
    private static string Root => RealData.RepositoryRoot ?? throw new InvalidOperationException("the repository (GreenSeg.slnx) was not found above the test binary");
    private static string Library => Path.Combine(Root, "src", "GreenSeg");

    /// <summary>The "may use" table: folder → the folders it may use.</summary>
    private static Dictionary<string, HashSet<string>> Allowed()
    {
        string text = File.ReadAllText(Path.Combine(Root, "docs", "ARCHITECTURE.md"));
        string section = text[text.IndexOf("## Which folder may use which", StringComparison.Ordinal)..];
        return RowPattern().Matches(section).ToDictionary(
            m => m.Groups[1].Value,
            m => m.Groups[2].Value.Trim() == "-" ? [] : m.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries).ToHashSet());
    }

    private static IReadOnlyList<string> Folders() =>
        [.. Directory.GetDirectories(Library).Select(Path.GetFileName).Where(name => name is not ("bin" or "obj"))!];

    /// <summary>The folders a folder's code uses: its <c>using GreenSeg.X</c> lines and names qualified as X.Type.</summary>
    private static HashSet<string> Used(string folder, IReadOnlyCollection<string> folders)
    {
        string names = string.Join("|", folders);
        var reference = new Regex($@"using GreenSeg\.({names})\b|(?<![\w.])(?:GreenSeg\.)?({names})\.(?=[A-Z])");
        var used = new HashSet<string>();
        foreach (string file in Directory.EnumerateFiles(Path.Combine(Library, folder), "*.cs", SearchOption.AllDirectories))
            foreach (Match match in reference.Matches(File.ReadAllText(file)))
                used.Add(match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value);
        used.Remove(folder);
        return used;
    }

    [Fact]
    public void EveryFolderUsesOnlyWhatTheArchitectureAllows()
    {
        var allowed = Allowed();
        var folders = Folders();
        allowed.Keys.ShouldBe(folders, ignoreOrder: true, "every library folder has one row in docs/ARCHITECTURE.md, and every row is a folder");
        foreach (string folder in folders)
        {
            var forbidden = Used(folder, folders).Except(allowed[folder]).Order().ToList();
            forbidden.ShouldBeEmpty($"{folder}/ uses {string.Join(", ", forbidden)}, which its row in docs/ARCHITECTURE.md does not allow");
        }
    }

    [Fact]
    public void TheAllowedUsesFormNoCycle()
    {
        var allowed = Allowed();
        var done = new HashSet<string>();
        var visiting = new Stack<string>();
        void Visit(string folder)
        {
            if (done.Contains(folder)) return;
            visiting.Contains(folder).ShouldBeFalse($"cycle: {string.Join(" <- ", visiting)} <- {folder}");
            visiting.Push(folder);
            foreach (string used in allowed.GetValueOrDefault(folder) ?? []) Visit(used);
            visiting.Pop();
            done.Add(folder);
        }
        foreach (string folder in allowed.Keys) Visit(folder);
    }

    [GeneratedRegex(@"^\| `(\w+)` \| ([^|]+) \|$", RegexOptions.Multiline)]
    private static partial Regex RowPattern();
}
