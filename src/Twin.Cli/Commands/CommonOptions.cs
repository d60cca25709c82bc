using System.CommandLine;

namespace Twin.Cli.Commands;

/// <summary>Flags shared by several verbs.</summary>
public static class CommonOptions
{
    public const string DefaultJournal = "sqlite:runs/twin.db";

    public static Option<bool> Json() => new("--json") { Description = "print one machine-readable JSON object on stdout" };

    public static Option<bool> Verbose() => new("--verbose") { Description = "debug-level log lines on stderr" };

    public static Option<string?> RunId() => new("--run") { Description = "the run to use (default: the journal's latest)" };
}
