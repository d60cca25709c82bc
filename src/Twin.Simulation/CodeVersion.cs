using System.Reflection;

namespace Twin.Simulation;

/// <summary>The build's version and git commit, recorded with every run ("1.0.0+abc123def456[-dirty]").</summary>
public static class CodeVersion
{
    public static string Current { get; } =
        typeof(CodeVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
