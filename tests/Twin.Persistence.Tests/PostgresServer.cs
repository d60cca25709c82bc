using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Twin.Persistence.Tests;

/// <summary>
/// The real PostgreSQL server the tests talk to. <c>scripts/test</c> starts one on loopback and
/// passes its connection string in TWIN_TEST_POSTGRES; when a test runner is started without it,
/// the first test that needs the server starts one itself with the same script (and stops it
/// when the process exits). Each test gets a schema of its own, so journals never meet.
/// </summary>
public static class PostgresServer
{
    private static readonly Lazy<string> s_connectionString = new(StartOrFind, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_schemas;

    public static string ConnectionString => s_connectionString.Value;

    /// <summary>A connection string whose search path is a new, empty schema.</summary>
    public static string FreshSchema(string prefix = "t")
    {
        string name = $"{prefix}_{Environment.ProcessId}_{Interlocked.Increment(ref s_schemas)}_{Guid.NewGuid():N}"[..40].ToLowerInvariant();
        using (var c = new NpgsqlConnection(ConnectionString))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE SCHEMA \"{name}\"", c);
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = name }.ConnectionString;
    }

    /// <summary>Runs SQL as a person with psql (or a failing disk) would.</summary>
    public static void Exec(string connectionString, string sql)
    {
        using var c = new NpgsqlConnection(connectionString);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    private static string StartOrFind()
    {
        string? given = Environment.GetEnvironmentVariable("TWIN_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(given)) return given;
        string script = Path.Combine(RepoRoot(), "scripts", "pg-test-server");
        string dir = Path.Combine(Path.GetTempPath(), $"twin-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        int port = FreePort();
        string output = RunScript(script, $"start {dir} {port}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RunScript(script, $"stop {dir}");
        return output.Trim().Split('\n')[^1];
    }

    private static string RunScript(string script, string args)
    {
        var psi = new ProcessStartInfo("bash", $"{script} {args}") { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"scripts/pg-test-server {args} failed ({p.ExitCode}): {stderr}");
        return stdout;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static string RepoRoot()
    {
        string? d = AppContext.BaseDirectory;
        while (d is not null && !File.Exists(Path.Combine(d, "Twin.sln"))) d = Path.GetDirectoryName(d);
        return d ?? throw new InvalidOperationException("cannot find Twin.sln above the test assembly");
    }
}
