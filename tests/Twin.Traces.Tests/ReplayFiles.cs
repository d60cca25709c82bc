namespace Twin.Traces.Tests;

/// <summary>The real recordings committed under replays/ftrace.</summary>
public static class ReplayFiles
{
    public static string Path(string name)
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir, "Twin.sln"))) dir = System.IO.Path.GetDirectoryName(dir);
        return System.IO.Path.Combine(dir!, "replays", "ftrace", name);
    }
}
