namespace GreenSeg.Tests;

/// <summary>
/// Locates the real E2MIP data shipped beside the repository (../shared/data/e2mip-fetal).
/// It exists on developer machines and in CI, not on a user's machine.
/// </summary>
public static class RealData
{
    public static string? RepositoryRoot { get; } = FindRepositoryRoot();

    public static string? E2mipFetal { get; } = RepositoryRoot is null ? null
        : ExistingOrNull(Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data", "e2mip-fetal")));

    public static string E2mipFetalOrThrow => E2mipFetal
        ?? throw new InvalidOperationException("../shared/data/e2mip-fetal is absent; the test should have been skipped");

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "GreenSeg.slnx"))) return dir.FullName;
        return null;
    }

    private static string? ExistingOrNull(string path) => Directory.Exists(path) ? path : null;
}

/// <summary>A fact that needs ../shared/data/e2mip-fetal; skipped with a clear reason when it is absent.</summary>
public sealed class RealDataFactAttribute : FactAttribute
{
    public RealDataFactAttribute()
    {
        if (RealData.E2mipFetal is null)
            Skip = "needs the real E2MIP data at ../shared/data/e2mip-fetal beside the repository (present in CI, absent on user machines)";
    }
}

/// <summary>A theory that needs ../shared/data/e2mip-fetal; skipped with a clear reason when it is absent.</summary>
public sealed class RealDataTheoryAttribute : TheoryAttribute
{
    public RealDataTheoryAttribute()
    {
        if (RealData.E2mipFetal is null)
            Skip = "needs the real E2MIP data at ../shared/data/e2mip-fetal beside the repository (present in CI, absent on user machines)";
    }
}
