namespace Twin.Traces.Tests;

/// <summary>The real recordings committed under replays/.</summary>
public static class ReplayFiles
{
    public static string Root
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir, "Twin.sln"))) dir = System.IO.Path.GetDirectoryName(dir);
            return System.IO.Path.Combine(dir!, "replays");
        }
    }

    /// <summary>A recording in replays/ftrace, or, with a folder ("trace-cmd/mb-3t.report"), anywhere under replays/.</summary>
    public static string Path(string name) => System.IO.Path.Combine(Root, name.Contains('/') ? "" : "ftrace", name);

    /// <summary>Every trace text under replays/ (the side files, workload sources and notes left out), as "folder/name".</summary>
    public static IEnumerable<string> All() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(Root, f).Replace('\\', '/'))
            .Where(f => f.Contains('/') && !f.EndsWith(".tasks", StringComparison.Ordinal) && !f.EndsWith(".c", StringComparison.Ordinal)
                && !f.EndsWith(".md", StringComparison.Ordinal) && !f.EndsWith(".dat", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
}
