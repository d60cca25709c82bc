using Spectre.Console;
using Twin.Checking;
using Twin.Simulation.Running;

namespace Twin.Cli.Presentation;

/// <summary>Prints a result: one JSON object with --json, else a table and the violations.</summary>
public static class ResultPrinter
{
    public static void Print(SimulationResult r, bool json, string title, Action<System.Text.Json.Utf8JsonWriter>? extraJson = null,
        IEnumerable<(string Name, string Value)>? extraRows = null)
    {
        if (json)
        {
            Console.Out.WriteLine(SummaryJson.Write(r, extraJson));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).Title(title).AddColumn("").AddColumn("");
        table.HideHeaders();
        table.AddRow("run", Markup.Escape(r.RunId));
        table.AddRow("seed", r.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("journal", Markup.Escape(r.Journal));
        table.AddRow("events", r.Events.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("virtual time", $"{r.VirtualTimeNs / 1e6:F3} ms");
        table.AddRow("state hash", SimulationResult.FormatHash(r.StateHash));
        table.AddRow("checkpoints", r.Checkpoints.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("wall time", $"{r.WallSeconds:F2} s ({r.EventsPerSecond:N0} events/s)");
        foreach ((string name, string value) in extraRows ?? []) table.AddRow(Markup.Escape(name), Markup.Escape(value));
        table.AddRow("violations", r.Violations.Count == 0 ? "[green]none[/]" : $"[red]{r.Violations.Count}[/]");
        AnsiConsole.Write(table);
        foreach (Violation v in r.Violations)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(v.Property)}[/] at {v.TimeNs} ns, cpu {v.Cpu}, event {v.EventIndex}: {Markup.Escape(v.Message)}");
        }
    }
}
