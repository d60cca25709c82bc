using System.Diagnostics;
using Twin.Persistence.Tests;

namespace Twin.Cli.Tests;

public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Chromium()
    {
        foreach (string c in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" })
        {
            if (File.Exists(c)) return c;
        }
        throw new InvalidOperationException("headless Chromium is needed to test the HTML export; scripts/test installs Debian's chromium");
    }

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
        var psi = new ProcessStartInfo(Chromium()) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={_dir.File("chrome-profile")}", $"--screenshot={png}",
                     "--window-size=1400,900", new Uri(_dir.File("b8.html")).AbsoluteUri })
        {
            psi.ArgumentList.Add(a);
        }
        using (Process p = Process.Start(psi)!)
        {
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "chromium did not finish");
        }
        PngImage image = PngImage.Load(png);
        Assert.Equal((1400, 900), (image.Width, image.Height));
        (int colors, double drawn) = image.Variety();
        // A blank page is one color; the timeline has lanes, marks, text and the red violation.
        Assert.True(colors > 50, $"{colors} colors");
        Assert.True(drawn > 0.05, $"{drawn:P1} of the page drawn");
        Assert.Contains(Enumerable.Range(0, image.Width * image.Height), i => image.Rgb[i * 3] > 200 && image.Rgb[i * 3 + 1] < 80 && image.Rgb[i * 3 + 2] < 80);
    }

    [Fact]
    public void export_without_an_output_is_bad_usage()
    {
        var r = TwinProcess.Run(_dir.Path, "export", "sqlite:none.db");
        Assert.Equal(2, r.ExitCode);
    }
}
