namespace Twin.Cli;

/// <summary>The contract of architecture.md: 0 done, 1 violations, 2 bad input; 3 is a bug in Twin itself.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Violations = 1;
    public const int BadInput = 2;
    public const int InternalError = 3;
}

/// <summary>A flag or argument that parses but makes no sense (e.g. --events 0).</summary>
public sealed class UsageException(string message) : Exception(message);
