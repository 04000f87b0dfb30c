using System.Text;
using System.Text.RegularExpressions;
using GreenSeg.Imaging;

namespace GreenSeg.Inference;

/// <summary>An input that cannot be segmented, and why (the rest of a batch still runs).</summary>
public sealed record InputProblem(string Path, string Problem);

/// <summary>The NIfTI files named by a list of inputs, and the inputs that named none.</summary>
public sealed record ExpandedInputs(IReadOnlyList<string> Files, IReadOnlyList<InputProblem> Problems);

/// <summary>
/// Turns what a user typed into NIfTI files: a file is taken as it is, a folder gives the .nii/.nii.gz
/// files directly inside it (not subfolders), and a pattern with * ? or [..] is a glob
/// (<see cref="Glob"/>; quoted, so the shell did not expand it). Files come out as full paths, each once,
/// in the order their inputs were given (a folder's or glob's files in ordinal name order).
/// </summary>
public static class InputFiles
{
    public static ExpandedInputs Expand(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<InputProblem>();
        void Add(string file)
        {
            string full = Path.GetFullPath(file);
            if (seen.Add(full)) files.Add(full);
        }

        foreach (string input in inputs)
        {
            if (string.IsNullOrWhiteSpace(input))
            {
                problems.Add(new InputProblem(input, "empty input name"));
                continue;
            }
            if (File.Exists(input))
            {
                if (NiftiFiles.IsNifti(input)) Add(input);
                else problems.Add(new InputProblem(Path.GetFullPath(input), "not a NIfTI file (expected .nii or .nii.gz)"));
            }
            else if (Directory.Exists(input))
            {
                var inside = NiftiFiles.InFolder(input);
                if (inside.Count == 0) problems.Add(new InputProblem(Path.GetFullPath(input), EmptyFolderProblem(input)));
                inside.ForEach(Add);
            }
            else if (Glob.IsPattern(input))
            {
                var matches = Glob.Expand(input).Where(NiftiFiles.IsNifti).ToList();
                if (matches.Count == 0) problems.Add(new InputProblem(input, "pattern matches no .nii or .nii.gz file"));
                matches.ForEach(Add);
            }
            else problems.Add(new InputProblem(Path.GetFullPath(input), "not found"));
        }
        return new ExpandedInputs(files, problems);
    }

    /// <summary>
    /// Why a folder gave nothing; where the stacks sit one folder down (as an E2MIP folder's test_volume/images/), says
    /// which subfolders hold them, so the user need not guess.
    /// </summary>
    private static string EmptyFolderProblem(string folder)
    {
        var holding = Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal)
            .Select(sub => (Name: Path.GetFileName(sub), Count: CountNifti(sub))).Where(sub => sub.Count > 0).ToList();
        if (holding.Count == 0) return "folder holds no .nii or .nii.gz files (subfolders are not searched)";
        const int Named = 3;
        string named = string.Join(", ", holding.Take(Named).Select(sub => $"{sub.Name}/ ({sub.Count})"))
            + (holding.Count > Named ? $" and {holding.Count - Named} more" : "");
        string glob = Path.Combine(Path.GetFullPath(folder), "**", "*.nii.gz");
        return $"folder holds no .nii or .nii.gz files, but its subfolders do: {named}; give one of them, or the glob '{glob}'";
    }

    private static int CountNifti(string folder)
    {
        try
        {
            return NiftiFiles.InFolder(folder).Count;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return 0; // an unreadable subfolder is not where the user meant
        }
    }
}

/// <summary>
/// Shell-style file globs: <c>*</c> any run of characters within a name, <c>?</c> one character,
/// <c>[abc]</c>/<c>[a-z]</c>/<c>[!a]</c> a character class, and a whole <c>**</c> segment any depth of
/// folders (zero included). As in a shell, a wildcard does not match a leading dot of a name.
/// Matching is case-sensitive; results are files, sorted ordinally.
/// </summary>
public static class Glob
{
    public static bool IsPattern(string text) => text.IndexOfAny(['*', '?', '[']) >= 0;

    public static IReadOnlyList<string> Expand(string pattern)
    {
        string normalized = pattern.Replace('\\', '/');
        bool rooted = normalized.StartsWith('/');
        var segments = normalized.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // The literal folders before the first wildcard are where the walk starts.
        int firstPattern = Array.FindIndex(segments, IsPattern);
        if (firstPattern < 0) return File.Exists(pattern) ? [Path.GetFullPath(pattern)] : [];
        string start = string.Join('/', segments[..firstPattern]);
        start = rooted ? "/" + start : start.Length == 0 ? "." : start;
        if (!Directory.Exists(start)) return [];

        var matchers = segments[firstPattern..].Select(s => s == "**" ? null : SegmentRegex(s)).ToArray();
        var results = new SortedSet<string>(StringComparer.Ordinal);
        Walk(Path.GetFullPath(start), matchers, 0, results);
        return [.. results];
    }

    private static void Walk(string folder, Regex?[] matchers, int index, SortedSet<string> results)
    {
        Regex? matcher = matchers[index];
        bool last = index == matchers.Length - 1;
        if (matcher is null)
        {
            // "**" matches no folder (go on here) or any folder below (stay on "**" there).
            if (last)
            {
                foreach (string file in Entries(folder, files: true, recursive: true))
                    if (!HasHiddenPart(Path.GetRelativePath(folder, file))) results.Add(file);
                return;
            }
            Walk(folder, matchers, index + 1, results);
            foreach (string sub in Entries(folder, files: false, recursive: false))
                if (!Path.GetFileName(sub).StartsWith('.')) Walk(sub, matchers, index, results);
            return;
        }
        foreach (string entry in Entries(folder, files: last, recursive: false))
        {
            if (!matcher.IsMatch(Path.GetFileName(entry))) continue;
            if (last) results.Add(entry);
            else Walk(entry, matchers, index + 1, results);
        }
    }

    private static bool HasHiddenPart(string relative) =>
        relative.Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.'));

    /// <summary>Files or folders of a folder; unreadable folders are skipped rather than failing the whole glob.</summary>
    private static IEnumerable<string> Entries(string folder, bool files, bool recursive)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = recursive, IgnoreInaccessible = true, AttributesToSkip = 0 };
        return files ? Directory.EnumerateFiles(folder, "*", options) : Directory.EnumerateDirectories(folder, "*", options);
    }

    /// <summary>A regular expression for one path segment; a leading wildcard never matches a dot.</summary>
    internal static Regex SegmentRegex(string segment)
    {
        var regex = new StringBuilder("^");
        if (segment.Length > 0 && segment[0] is '*' or '?' or '[') regex.Append("(?!\\.)");
        for (int i = 0; i < segment.Length; i++)
        {
            char c = segment[i];
            switch (c)
            {
                case '*': regex.Append(".*"); break;
                case '?': regex.Append('.'); break;
                case '[':
                    // The character right after '[' (or "[!") is part of the class even when it is ']'.
                    int close = i + 2 < segment.Length ? segment.IndexOf(']', i + 2) : -1;
                    if (close < 0)
                    {
                        regex.Append("\\[");
                        break;
                    }
                    string body = segment[(i + 1)..close];
                    bool negated = body.StartsWith('!') || body.StartsWith('^');
                    if (negated) body = body[1..];
                    regex.Append('[').Append(negated ? "^" : "").Append(body.Replace("\\", "\\\\").Replace("[", "\\[")).Append(']');
                    i = close;
                    break;
                default: regex.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
