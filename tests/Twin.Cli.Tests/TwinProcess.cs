using System.Diagnostics;
using System.Text.Json;

namespace Twin.Cli.Tests;

/// <summary>Runs the built <c>twin</c> command as a separate process, as a user would.</summary>
public sealed class TwinProcess
{
    private static readonly string s_dll = Path.Combine(AppContext.BaseDirectory, "twin.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;
    }

    /// <summary>A path inside the repository (the folder holding Twin.sln).</summary>
    public static string Repo(string relative)
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Twin.sln"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir!, relative);
    }

    public static ProcessStartInfo StartInfo(string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // The same program with the runtime's own JIT defaults: twin's runtimeconfig asks for
        // dynamic PGO and call counting from the first call, which pay back over a run of millions
        // of events but cost a short command (all a test runs) a third more CPU in JIT work
        // (docs/testing.md has the figures). What the command does does not depend on either.
        psi.Environment["DOTNET_TieredPGO"] = "0";
        psi.Environment["DOTNET_TC_CallCountingDelayMs"] = "100";
        psi.ArgumentList.Add(s_dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    public static Result Run(string workDir, params string[] args)
    {
        using Process p = Process.Start(StartInfo(workDir, args))!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        // A guard against a hung process, not a speed check: the longest command here (a shrink of
        // ~7,500 runs) takes a minute on an idle 2-core machine and three under the test suite's load.
        if (!p.WaitForExit(TimeSpan.FromMinutes(6)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"twin {string.Join(' ', args)} did not finish");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
