using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void the_html_of_a_counterexample_renders_in_headless_chromium()
    {
        var run = TwinProcess.Run(_dir.Path, "run", "--scenario", TwinProcess.Repo("config/scenarios/bugs/B8.json"), "--journal", "sqlite:b8.db", "--json");
        Assert.Equal(1, run.ExitCode);
        var export = TwinProcess.Run(_dir.Path, "export", "sqlite:b8.db", "--html", "b8.html", "--perfetto", "b8.json");
        Assert.True(export.ExitCode == 0, export.Stderr);
        string html = File.ReadAllText(_dir.File("b8.html"));
        Assert.Contains("LAZY-1", html);
        Assert.Contains("P-SC", html);
        Assert.Contains("<svg", html);

        string png = _dir.File("b8.png");
        HeadlessChromium.Screenshot(_dir.File("b8.html"), png, _dir.File("chrome-profile"));
        HeadlessChromium.AssertDrawn(png);
    }

    [Fact]
    public void export_without_an_output_is_bad_usage()
    {
        var r = TwinProcess.Run(_dir.Path, "export", "sqlite:none.db");
        Assert.Equal(2, r.ExitCode);
    }
}
