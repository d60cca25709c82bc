using System.CommandLine;

namespace Twin.Cli.Commands;

/// <summary>Flags shared by several verbs.</summary>
public static class CommonOptions
{
    public const string DefaultJournal = "sqlite:runs/twin.db";

    public static Option<bool> Json() => new("--json") { Description = "print one machine-readable JSON object on stdout" };

    public static Option<bool> Verbose() => new("--verbose") { Description = "debug-level log lines on stderr" };

    public static Option<string?> RunId() => new("--run") { Description = "the run to use (default: the journal's latest)" };

    /// <summary>A <c>--seeds A..B</c> range.</summary>
    public static (ulong First, ulong Last) ParseSeeds(string text, string flag = "--seeds")
    {
        string[] parts = text.Split("..");
        if (parts.Length == 2 && ulong.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong a)
            && ulong.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong b) && b >= a)
        {
            return (a, b);
        }
        throw new UsageException($"{flag} '{text}': expected A..B with A <= B, e.g. 1..200");
    }
}
