namespace GreenSeg.Imaging;

/// <summary>Naming helpers for NIfTI files (.nii and .nii.gz).</summary>
public static class NiftiFiles
{
    public static bool IsNifti(string path) =>
        path.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".nii", StringComparison.OrdinalIgnoreCase);

    /// <summary>The file name without folder and without .nii/.nii.gz.</summary>
    public static string Stem(string path)
    {
        string name = Path.GetFileName(path);
        if (name.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase)) return name[..^7];
        if (name.EndsWith(".nii", StringComparison.OrdinalIgnoreCase)) return name[..^4];
        return name;
    }

    /// <summary>NIfTI files directly in a folder, in ordinal name order so runs are reproducible.</summary>
    public static List<string> InFolder(string folder) =>
        Directory.EnumerateFiles(folder).Where(IsNifti).OrderBy(p => p, StringComparer.Ordinal).ToList();
}
