using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Serilog;
using Spectre.Console;
using Twin.Checking;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation.Config;
using Twin.Simulation.Soak;

namespace Twin.Cli.Commands;

/// <summary><c>twin soak</c>: many seeds, in parallel, hunting for violations.</summary>
public static class SoakCommand
{
    public static Command Create()
    {
        var options = new ConfigOptions();
        var seeds = new Option<string?>("--seeds") { Description = "seed range A..B (inclusive; default 1..100)" };
        var hours = new Option<double?>("--hours") { Description = "run seeds from --seeds' first (or 1) on, without end, for this many hours" };
        var workers = new Option<int>("--workers") { Description = "runs at once in this process (default: one per core)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var first = new Option<bool>("--first") { Description = "stop at the first failing seed" };
        var journal = new Option<string?>("--journal") { Description = "keep the soak as a campaign in this journal (sqlite:PATH or postgres:...): failing runs journaled, resumable, shareable by several workers" };
        var campaign = new Option<string?>("--campaign") { Description = "the campaign's name (to join one another worker started, or to pick one to resume)" };
        var resume = new Option<string?>("--resume") { Description = "continue the campaign kept in this journal, with its own config and seeds" };
        var keep = new Option<double>("--keep-passing") { Description = "fraction of passing runs whose full journal is kept too (0..1)", DefaultValueFactory = _ => 0 };
        var lease = new Option<double>("--lease") { Description = "seconds a claimed seed stays with a worker that stops renewing it", DefaultValueFactory = _ => 30 };
        var noSwarm = new Option<bool>("--no-swarm") { Description = "run every seed with the one fixed config (default: each seed draws its own config, keeping what you gave; docs/soak.md)" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("soak", "Run many seeds and report every guarantee violation found");
        options.AddTo(command, withSeed: false);
        foreach (Option o in (Option[])[seeds, hours, workers, first, noSwarm, journal, campaign, resume, keep, lease, json, verbose]) command.Add(o);
        command.SetAction(parse =>
        {
            int n = parse.GetValue(workers);
            if (n < 1 || n > 256) throw new UsageException($"--workers {n}: must be between 1 and 256");
            var request = new SoakRequest(parse.GetValue(journal), parse.GetValue(campaign), parse.GetValue(resume), n, parse.GetValue(first),
                parse.GetValue(json), parse.GetValue(verbose));
            if (request.Resume is not null)
            {
                if (parse.GetValue(seeds) is not null || parse.GetValue(hours) is not null || request.Journal is not null || parse.GetValue(noSwarm))
                {
                    throw new UsageException("--resume continues a campaign as stored: leave out --seeds, --hours, --journal and --no-swarm");
                }
                return Execute(request, config: null, campaignRequest: null);
            }
            var given = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            TwinConfig config = options.Load(parse, given);
            config = parse.GetValue(noSwarm) ? config with { Swarm = null } : ConfigOptions.Swarming(config, given);
            double? h = parse.GetValue(hours);
            if (h is double hh && (hh <= 0 || hh > 24 * 365)) throw new UsageException($"--hours {hh}: must be more than 0 and at most a year");
            (ulong a, ulong b) = parse.GetValue(seeds) is string text ? CommonOptions.ParseSeeds(text) : (1UL, 100UL);
            double keepPassing = parse.GetValue(keep);
            if (keepPassing is < 0 or > 1) throw new UsageException($"--keep-passing {keepPassing}: must be between 0 and 1");
            double leaseSeconds = parse.GetValue(lease);
            if (leaseSeconds is < 1 or > 86400) throw new UsageException($"--lease {leaseSeconds}: must be between 1 and 86400 seconds");
            if (request.Journal is null && (request.Campaign is not null || keepPassing > 0))
            {
                throw new UsageException("--campaign and --keep-passing need --journal: a campaign is kept in a journal");
            }
            string name = request.Campaign ?? $"soak-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
            var campaignRequest = new CampaignRequest(name, a, h is null ? b : null, h is double d ? TimeSpan.FromHours(d) : null,
                TimeSpan.FromSeconds(leaseSeconds), keepPassing, request.First);
            return Execute(request, config, campaignRequest);
        });
        return command;
    }

    private sealed record SoakRequest(string? Journal, string? Campaign, string? Resume, int Workers, bool First, bool Json, bool Verbose);

    private static int Execute(SoakRequest request, TwinConfig? config, CampaignRequest? campaignRequest)
    {
        ILogger log = Logging.Create(request.Verbose);
        Action<string> report = message => log.Warning("{Message}", message);
        string? uri = request.Resume ?? request.Journal;
        using IJournal? journal = uri is null ? null : JournalUri.Open(uri, create: request.Resume is null);
        ISeedSource source;
        bool stopAtFirst = request.First;
        if (journal is null)
        {
            source = new SeedRange(campaignRequest!.FirstSeed, campaignRequest.LastSeed, campaignRequest.Duration);
        }
        else if (request.Resume is not null)
        {
            (CampaignSeedSource resumed, config) = Campaigns.Resume(journal, request.Campaign, report);
            source = resumed;
            stopAtFirst = resumed.StopsAtFirst;
        }
        else
        {
            source = Campaigns.CreateOrJoin(journal, config!, campaignRequest!, report);
        }
        try
        {
            Describe(log, config!, source, request.Workers);
            SoakResult result = RunWithProgress(config!, source, request.Workers, stopAtFirst, request.Json, log);
            Print(result, request.Json);
            return result.Failing.Count > 0 ? ExitCodes.Violations : ExitCodes.Ok;
        }
        finally
        {
            (source as IDisposable)?.Dispose();
        }
    }

    private static void Describe(ILogger log, TwinConfig config, ISeedSource source, int workers)
    {
        string bugs = config.Kernel.Bugs == 0 ? "no bug" : $"bugs {config.Kernel.Bugs}";
        string what = source is CampaignSeedSource c ? $"campaign '{c.Name}'" : "soak";
        log.Information("{What} on {Workers} workers: {Arch}, {Cpus} CPUs, {Events} events per run, {Bugs}",
            what, workers, config.Kernel.Arch.Name, config.Kernel.Cpus, config.Events, bugs);
    }

    private static SoakResult RunWithProgress(TwinConfig config, ISeedSource source, int workers, bool stopAtFirst, bool json, ILogger log)
    {
        // SIGINT: stop claiming, give back the seeds in flight, keep everything committed.
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, args) =>
        {
            args.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return new BackgroundWork().Run("soak", showBar: !json, log, work => SoakRunner.Run(config, source, workers, stopAtFirst,
                p => work.Report(p.Fraction,
                    $"{p.RunsDone:N0} runs here, {p.Events:N0} events ({p.Events / Math.Max(p.WallSeconds, 1e-9):N0}/s), {p.FailingRuns} failing"),
                interrupt.Token));
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static void Print(SoakResult r, bool json)
    {
        if (json)
        {
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                if (r.Campaign is not null) w.WriteString("campaign", r.Campaign);
                w.WriteNumber("runs", r.RunsDone);
                w.WriteNumber("events", r.Events);
                w.WriteNumber("wallSeconds", Math.Round(r.WallSeconds, 3));
                w.WriteNumber("eventsHere", r.EventsHere);
                w.WriteNumber("eventsPerSecond", Math.Round(r.EventsPerSecond));
                w.WriteNumber("failingRuns", r.Failing.Count);
                w.WriteBoolean("stoppedAtFirst", r.StoppedAtFirst);
                w.WriteStartArray("violations");
                foreach (SoakRun run in r.Failing)
                {
                    foreach (Violation v in run.Violations.Take(5))
                    {
                        w.WriteStartObject();
                        w.WriteNumber("seed", run.Seed);
                        ViolationJson.WriteFields(w, v);
                        w.WriteString("journal", run.Journal);
                        w.WriteEndObject();
                    }
                }
                w.WriteEndArray();
                w.WriteStartArray("failingSeeds");
                foreach (SoakRun run in r.Failing.Take(20))
                {
                    w.WriteStartObject();
                    w.WriteNumber("seed", run.Seed);
                    w.WriteNumber("events", run.Events);
                    w.WriteString("stateHash", Twin.Simulation.Running.SimulationResult.FormatHash(run.StateHash));
                    if (run.ConfigJson is not null)
                    {
                        w.WritePropertyName("config");
                        w.WriteRawValue(run.ConfigJson);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("coveredRuns", r.CoveredRuns);
                w.WritePropertyName("coverage");
                r.Coverage.WriteJson(w);
                w.WriteEndObject();
            }
            Console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            return;
        }
        string campaign = r.Campaign is null ? "" : $" campaign '{Markup.Escape(r.Campaign)}'";
        AnsiConsole.MarkupLine($"[bold]twin soak[/]{campaign}: {r.RunsDone:N0} runs, {r.Events:N0} events; this process ran {r.EventsHere:N0} in {r.WallSeconds:F1} s ({r.EventsPerSecond:N0} events/s)");
        var byProperty = r.Failing.SelectMany(run => run.Violations.Select(v => (run, v))).GroupBy(x => x.v.Property).OrderBy(g => g.Key, StringComparer.Ordinal);
        var table = new Table().Border(TableBorder.Rounded).AddColumn("property").AddColumn("failing runs").AddColumn("first seed").AddColumn("first violation");
        foreach (var g in byProperty)
        {
            var firstOne = g.OrderBy(x => x.run.Seed).ThenBy(x => x.v.EventIndex).First();
            table.AddRow(Markup.Escape(g.Key), g.Select(x => x.run.Seed).Distinct().Count().ToString(CultureInfo.InvariantCulture),
                firstOne.run.Seed.ToString(CultureInfo.InvariantCulture), Markup.Escape(firstOne.v.Message));
        }
        if (table.Rows.Count == 0) AnsiConsole.MarkupLine("[green]no violation[/]");
        else AnsiConsole.Write(table);
        foreach (SoakRun run in r.Failing.Where(f => f.Journal is not null).Take(5))
        {
            AnsiConsole.MarkupLine($"seed {run.Seed}: journaled in {Markup.Escape(run.Journal!)}");
        }
        if (r.CoveredRuns > 0) AnsiConsole.Write(CoverageTable(r.Coverage, r.CoveredRuns));
    }

    /// <summary>Per group: points reached of the catalog's, and the points not reached (a few named).</summary>
    private static Table CoverageTable(Coverage c, long runs)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"coverage over {runs:N0} runs")
            .AddColumn("group").AddColumn(new TableColumn("reached").RightAligned()).AddColumn("not reached");
        foreach (string group in CoveragePoints.Groups)
        {
            (int hit, int points) = c.OfGroup(group);
            var missing = Enumerable.Range(0, CoveragePoints.Count).Where(i => CoveragePoints.Group(i) == group && c[i] == 0).Select(CoveragePoints.Name).ToList();
            string names = missing.Count == 0 ? "" : string.Join(", ", missing.Take(4)) + (missing.Count > 4 ? $", … ({missing.Count - 4} more)" : "");
            table.AddRow(group, $"{hit} / {points}", Markup.Escape(names));
        }
        return table;
    }
}
