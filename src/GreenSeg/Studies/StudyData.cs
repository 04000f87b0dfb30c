using GreenSeg.Phantom;

namespace GreenSeg.Studies;

/// <summary>The dataset of a study: a path, or <c>phantom</c> for GreenSeg's synthetic dataset made inside the study folder.</summary>
public static class StudyData
{
    public const string PhantomName = "phantom";

    /// <summary>
    /// The dataset path to train on. <c>phantom</c> writes the default phantom (seed 42, training stacks
    /// only) to STUDY/phantom once, so a first study needs nothing but GreenSeg.
    /// </summary>
    public static string Resolve(string data, string studyFolder)
    {
        string path = PathOf(data, studyFolder);
        if (IsPhantom(data) && !Directory.Exists(path)) WritePhantom(path, new PhantomOptions { TestStacks = new StackCounts(0, 0, 0) });
        return path;
    }

    /// <summary>Where the data is (or, for <c>phantom</c>, will be), writing nothing.</summary>
    public static string PathOf(string data, string studyFolder) =>
        IsPhantom(data) ? Path.Combine(Path.GetFullPath(studyFolder), PhantomName) : Path.GetFullPath(data);

    /// <summary>"phantom", unless a folder of that name exists here (then it is that folder).</summary>
    private static bool IsPhantom(string data) =>
        string.Equals(data.Trim(), PhantomName, StringComparison.OrdinalIgnoreCase) && !Directory.Exists(data);

    /// <summary>Writes beside the target and renames, so an interrupted write never passes for a dataset.</summary>
    public static void WritePhantom(string root, PhantomOptions options)
    {
        string temp = root + ".partial";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        PhantomWriter.WriteDataset(temp, options);
        Directory.Move(temp, root);
    }
}
