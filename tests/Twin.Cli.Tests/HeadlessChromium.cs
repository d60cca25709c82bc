using System.Diagnostics;

namespace Twin.Cli.Tests;

/// <summary>Renders a page in Debian's headless Chromium and checks the screenshot is a drawing, not a blank page.</summary>
public static class HeadlessChromium
{
    private static string Binary()
    {
        foreach (string c in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" })
        {
            if (File.Exists(c)) return c;
        }
        throw new InvalidOperationException("headless Chromium is needed to test the HTML export; scripts/test installs Debian's chromium");
    }

    public static void Screenshot(string html, string png, string profileDir)
    {
        var psi = new ProcessStartInfo(Binary()) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={profileDir}", $"--screenshot={png}",
                     "--window-size=1400,900", new Uri(html).AbsoluteUri })
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "chromium did not finish");
    }

    /// <summary>A blank page is one color; a timeline has lanes, marks, text and the red violation.</summary>
    public static void AssertDrawn(string png)
    {
        PngImage image = PngImage.Load(png);
        Assert.Equal((1400, 900), (image.Width, image.Height));
        (int colors, double drawn) = image.Variety();
        Assert.True(colors > 50, $"{colors} colors");
        Assert.True(drawn > 0.05, $"{drawn:P1} of the page drawn");
        Assert.Contains(Enumerable.Range(0, image.Width * image.Height), i => image.Rgb[i * 3] > 200 && image.Rgb[i * 3 + 1] < 80 && image.Rgb[i * 3 + 2] < 80);
    }
}
