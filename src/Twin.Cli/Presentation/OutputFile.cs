namespace Twin.Cli.Presentation;

/// <summary>Writes a file the user named, creating its folder; a path that cannot be written is bad input.</summary>
public static class OutputFile
{
    public static void Write(string path, Action<Stream> write)
    {
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            using FileStream f = File.Create(path);
            write(f);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write '{path}': {e.Message}");
        }
    }
}
