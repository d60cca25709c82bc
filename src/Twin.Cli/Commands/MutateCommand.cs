using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Serilog;
using Spectre.Console;
using Twin.Cli.Presentation;
using Twin.Kernel.Arch;
using Twin.Kernel.Sites;
using Twin.Persistence;
using Twin.Persistence.Campaigns;
using Twin.Simulation.Config;
using Twin.Simulation.Mutation;

namespace Twin.Cli.Commands;

/// <summary><c>twin mutate</c>: every barrier and core-serializing site left out in turn, on every profile that has it; killed or survived, and why.</summary>
public static class MutateCommand
{
    public static Command Create()
    {
        var sites = new Option<string?>("--sites") { Description = "only these sites, comma-separated (names: docs/mutate.md; default: every site)" };
        var arch = new Option<string?>("--arch") { Description = "only these profiles, comma-separated (default: every profile that has the site)" };
        var seeds = new Option<string>("--seeds") { Description = "seeds of the random workload per removal", DefaultValueFactory = _ => "1..100" };
        var events = new Option<long>("--events") { Description = "events per random-workload run", DefaultValueFactory = _ => MutationBudget.Default.Events };
        var litmusSeeds = new Option<string>("--litmus-seeds") { Description = "seeds per litmus scenario", DefaultValueFactory = _ => "1..50" };
        var litmus = new Option<string>("--litmus") { Description = "folder of litmus scenarios ('none': skip them)", DefaultValueFactory = _ => "config/scenarios/litmus" };
        var outcome = new Option<bool>("--outcome") { Description = "also look for an observed outcome (litmus forbid, P-OBS) when a checker already caught a removal" };
        var workers = new Option<int>("--workers") { Description = "runs at once (default: one per core)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var journal = new Option<string?>("--journal") { Description = "keep each removal's random workload as a soak campaign here (failing runs journaled); run the same command again to resume" };
        var name = new Option<string>("--name") { Description = "the campaigns' name prefix in the journal", DefaultValueFactory = _ => "mutate" };
        var resume = new Option<string?>("--resume") { Description = "continue the mutation run kept in this journal (its sites, profiles, seeds and events)" };
        var list = new Option<bool>("--list") { Description = "list the sites (name, kind, reason, profiles, kernel source) and exit" };
        var json = CommonOptions.Json();
        var verbose = CommonOptions.Verbose();
        var command = new Command("mutate", "Leave out each barrier and core-serializing site in turn and report which removals are caught")
        {
            sites, arch, seeds, events, litmusSeeds, litmus, outcome, workers, journal, name, resume, list, json, verbose,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(list))
            {
                ListSites(parse.GetValue(json));
                return ExitCodes.Ok;
            }
            ILogger log = Logging.Create(parse.GetValue(verbose));
            int n = parse.GetValue(workers);
            if (n < 1 || n > 256) throw new UsageException($"--workers {n}: must be between 1 and 256");
            (ulong lf, ulong ll) = CommonOptions.ParseSeeds(parse.GetValue(litmusSeeds)!, "--litmus-seeds");
            string prefix = parse.GetValue(name)!;
            string? resumeUri = parse.GetValue(resume);
            if (resumeUri is not null && (parse.GetValue(journal) is not null || parse.GetResult(sites) is not null || parse.GetResult(arch) is not null
                || parse.GetResult(seeds) is { Implicit: false } || parse.GetResult(events) is { Implicit: false }))
            {
                throw new UsageException("--resume continues a mutation run as stored: leave out --journal, --sites, --arch, --seeds and --events");
            }
            using IJournal? store = resumeUri is not null ? JournalUri.Open(resumeUri, create: false)
                : parse.GetValue(journal) is string uri ? JournalUri.Open(uri, create: true) : null;
            IReadOnlyList<Mutant> plan;
            MutationBudget budget;
            if (resumeUri is not null)
            {
                (plan, ulong first, ulong last, long ev) = Stored(store!, prefix);
                budget = new MutationBudget(first, last, ev, lf, ll, parse.GetValue(outcome), n);
            }
            else
            {
                (ulong first, ulong last) = CommonOptions.ParseSeeds(parse.GetValue(seeds)!);
                long ev = parse.GetValue(events);
                if (ev < 1000) throw new UsageException($"--events {ev}: must be at least 1000");
                plan = MutationRunner.Plan(SitesOf(parse.GetValue(sites)), ArchsOf(parse.GetValue(arch)));
                if (plan.Count == 0) throw new UsageException("no site of --sites runs on a profile of --arch");
                budget = new MutationBudget(first, last, ev, lf, ll, parse.GetValue(outcome), n);
            }
            IReadOnlyList<string> scenarios = Scenarios(parse.GetValue(litmus)!);
            var runner = new MutationRunner(budget, scenarios, store, prefix, m => log.Warning("{Message}", m));
            using var interrupt = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, a) =>
            {
                a.Cancel = true;
                interrupt.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            IReadOnlyList<MutantResult> results;
            try
            {
                log.Information("twin mutate: {Count} removals, random workload seeds {First}..{Last} x {Events} events, litmus seeds {LF}..{LL} over {Scenarios} scenarios",
                    plan.Count, budget.FirstSeed, budget.LastSeed, budget.Events, lf, ll, scenarios.Count);
                results = new BackgroundWork().Run("mutate", showBar: !parse.GetValue(json), log, work => runner.Run(plan,
                    p => work.Report(p.Done / (double)Math.Max(1, p.Total), $"{p.Done}/{p.Total} removals; {p.Current}"), interrupt.Token));
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            if (parse.GetValue(json)) PrintJson(results, budget);
            else Print(results);
            return results.All(r => r.Explained) ? ExitCodes.Ok : ExitCodes.Violations;
        });
        return command;
    }

    private static void ListSites(bool json)
    {
        if (!json)
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumn("site").AddColumn("kind").AddColumn("reason").AddColumn("profiles").AddColumn("kernel");
            foreach (SiteInfo s in SiteCatalog.All)
            {
                table.AddRow(Markup.Escape(s.Name), s.Kind == SiteKind.Barrier ? "barrier" : "serialize", s.ReasonName, Markup.Escape(Profiles(s)), Markup.Escape(s.Kernel));
            }
            AnsiConsole.Write(table);
            return;
        }
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (SiteInfo s in SiteCatalog.All)
            {
                w.WriteStartObject();
                w.WriteString("site", s.Name);
                w.WriteString("kind", s.Kind == SiteKind.Barrier ? "barrier" : "serialize");
                w.WriteString("reason", s.ReasonName);
                w.WriteString("profiles", Profiles(s));
                w.WriteString("kernel", s.Kernel);
                w.WriteString("role", s.Role);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        stdout.WriteByte((byte)'\n');
    }

    private static string Profiles(SiteInfo s) => string.Join(", ", ArchProfile.All.Where(s.On).Select(a => a.Name));

    private static HashSet<OrderingSite>? SitesOf(string? text)
    {
        if (text is null) return null;
        var set = new HashSet<OrderingSite>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            SiteInfo site = SiteCatalog.Find(part)
                ?? throw new UsageException($"--sites: '{part}' is not a site ({string.Join(", ", SiteCatalog.All.Select(s => s.Name))})");
            set.Add(site.Site);
        }
        return set.Count == 0 ? throw new UsageException("--sites: name at least one site") : set;
    }

    private static HashSet<ArchProfile>? ArchsOf(string? text)
    {
        if (text is null) return null;
        var set = new HashSet<ArchProfile>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            set.Add(ArchProfile.Find(part) ?? throw new UsageException($"--arch: '{part}' is not a profile ({string.Join(", ", ArchProfile.All.Select(a => a.Name))})"));
        }
        return set.Count == 0 ? throw new UsageException("--arch: name at least one profile") : set;
    }

    private static IReadOnlyList<string> Scenarios(string folder)
    {
        if (folder.Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        if (!Directory.Exists(folder)) throw new UsageException($"--litmus {folder}: no such folder (run from the repository's top, give the folder, or 'none')");
        string[] files = [.. Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal)];
        return files.Length == 0 ? throw new UsageException($"--litmus {folder}: holds no scenario (*.json)") : files;
    }

    /// <summary>The plan and budget of a mutation run kept in a journal: its removals' campaigns.</summary>
    private static (IReadOnlyList<Mutant> Plan, ulong First, ulong Last, long Events) Stored(IJournal journal, string prefix)
    {
        using ICampaignStore campaigns = journal.OpenCampaigns();
        var mine = campaigns.List().Where(c => c.Spec.Name.StartsWith(prefix + "/", StringComparison.Ordinal) && !c.Spec.Name.Contains('+', StringComparison.Ordinal)).ToList();
        if (mine.Count == 0) throw new JournalFormatException($"{journal.Uri} holds no mutation run named '{prefix}' (give its --name)");
        var plan = new List<Mutant>();
        foreach (CampaignInfo c in mine)
        {
            string mutant = c.Spec.Name[(prefix.Length + 1)..];
            int at = mutant.LastIndexOf('@');
            SiteInfo? site = at > 0 ? SiteCatalog.Find(mutant[..at]) : null;
            ArchProfile? profile = at > 0 ? ArchProfile.Find(mutant[(at + 1)..]) : null;
            if (site is null || profile is null) throw new JournalFormatException($"{journal.Uri}: campaign '{c.Spec.Name}' is not a removal this Twin knows");
            plan.Add(new Mutant(SiteSet.Of(site.Site), profile));
        }
        CampaignSpec spec = mine[0].Spec;
        TwinConfig config = ConfigLoader.FromRunJson(spec.ConfigJson, $"{journal.Uri} campaign '{spec.Name}'");
        IReadOnlyList<Mutant> ordered = [.. plan.OrderBy(m => m.Sites.Bits).ThenBy(m => ArchProfile.All.ToList().IndexOf(m.Arch))];
        return (ordered, (ulong)spec.FirstSeed, (ulong)(spec.LastSeed ?? spec.FirstSeed), config.Events);
    }

    private static string By(Kill k) => k.Part.StartsWith("litmus", StringComparison.Ordinal) ? $"{k.Part}: forbidden outcome" : string.Join(", ", k.Properties);

    private static string Verdict(MutantResult r) => r.Kill switch
    {
        { Evidence: Evidence.Outcome } => "killed (outcome)",
        not null => "killed (checker)",
        null => r.Explained ? "survived, explained" : "survived, UNEXPLAINED",
    };

    /// <summary>Why a survivor survived, as the model explains it, and whether the check of the claim confirmed it.</summary>
    private static string Note(MutantResult r)
    {
        if (r.Reached == 0) return "never reached: the removal was not exercised";
        if (r.Claim is null) return "no explanation: a gap in the model or its checkers";
        string check = r.Check switch
        {
            null => "",
            { Kill: { } ck } => $" [checked: with {string.Join(", ", r.Claim.CoveredBy.Select(s => SiteCatalog.Get(s).Name))} also left out it is caught by {By(ck)} at seed {ck.Seed}]",
            _ => $" [NOT confirmed: with {string.Join(", ", r.Claim.CoveredBy.Select(s => SiteCatalog.Get(s).Name))} also left out it still survives]",
        };
        return r.Claim.Why + check;
    }

    /// <summary>The table (one row per removal), then why each survivor survived; the checkers' messages are in --json.</summary>
    private static void Print(IReadOnlyList<MutantResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("site").AddColumn("arch").AddColumn("verdict").AddColumn("by").AddColumn(new TableColumn("seed").RightAligned())
            .AddColumn(new TableColumn("s").RightAligned()).AddColumn(new TableColumn("reached").RightAligned());
        foreach (MutantResult r in results)
        {
            string by = r.Kill is { } k ? By(k) + (r.Outcome is { } o ? $"; outcome: {By(o)} (seed {o.Seed})" : "") : "-";
            table.AddRow(Markup.Escape(Sites(r.Mutant)), r.Mutant.Arch.Name, Markup.Escape(Verdict(r)), Markup.Escape(by),
                r.Kill?.Seed.ToString(CultureInfo.InvariantCulture) ?? "-", (r.Kill?.Seconds ?? r.Seconds).ToString("F1", CultureInfo.InvariantCulture),
                r.Reached.ToString("N0", CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        foreach (MutantResult r in results.Where(r => !r.Killed))
        {
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(r.Mutant.Name)}[/]: {Markup.Escape(Note(r))}");
        }
        int killed = results.Count(r => r.Killed), byOutcome = results.Count(r => r.Kill?.Evidence == Evidence.Outcome);
        int survived = results.Count - killed, unexplained = results.Count(r => !r.Explained);
        AnsiConsole.MarkupLine($"[bold]twin mutate[/]: {results.Count} removals: {killed} killed ({byOutcome} by an observed outcome, {killed - byOutcome} by a checker only), " +
            $"{survived} survived ({survived - unexplained} explained, {unexplained} unexplained)");
    }

    private static string Sites(Mutant m) => string.Join("+", m.Sites.Each().Select(s => SiteCatalog.Get(s).Name));

    private static void PrintJson(IReadOnlyList<MutantResult> results, MutationBudget budget)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("command", "twin mutate");
            w.WriteString("seeds", $"{budget.FirstSeed}..{budget.LastSeed}");
            w.WriteNumber("events", budget.Events);
            w.WriteString("litmusSeeds", $"{budget.LitmusFirstSeed}..{budget.LitmusLastSeed}");
            w.WriteNumber("removals", results.Count);
            w.WriteNumber("killed", results.Count(r => r.Killed));
            w.WriteNumber("survived", results.Count(r => !r.Killed));
            w.WriteNumber("unexplained", results.Count(r => !r.Explained));
            w.WriteStartArray("results");
            foreach (MutantResult r in results) WriteResult(w, r);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }

    private static void WriteResult(Utf8JsonWriter w, MutantResult r)
    {
        w.WriteStartObject();
        OrderingSite first = r.Mutant.Sites.Each().First();
        w.WriteString("site", Sites(r.Mutant));
        w.WriteString("kind", SiteCatalog.Get(first).Kind == SiteKind.Barrier ? "barrier" : "serialize");
        w.WriteString("reason", SiteCatalog.Get(first).ReasonName);
        w.WriteString("arch", r.Mutant.Arch.Name);
        w.WriteString("verdict", r.Killed ? "killed" : "survived");
        w.WriteNumber("reached", r.Reached);
        w.WriteNumber("seconds", Math.Round(r.Seconds, 2));
        if (r.Kill is { } k) WriteKill(w, "kill", k);
        if (r.Outcome is { } o) WriteKill(w, "outcome", o);
        w.WriteBoolean("explained", r.Explained);
        if (r.Claim is { } c)
        {
            w.WriteString("reasonGiven", c.Why);
            w.WriteStartArray("coveredBy");
            foreach (OrderingSite s in c.CoveredBy) w.WriteStringValue(SiteCatalog.Get(s).Name);
            w.WriteEndArray();
        }
        if (r.Check is { } check)
        {
            w.WritePropertyName("check");
            WriteResult(w, check);
        }
        w.WriteEndObject();
    }

    private static void WriteKill(Utf8JsonWriter w, string name, Kill k)
    {
        w.WriteStartObject(name);
        w.WriteString("part", k.Part);
        w.WriteString("evidence", k.Evidence == Evidence.Outcome ? "outcome" : "checker");
        w.WriteNumber("seed", k.Seed);
        w.WriteNumber("seconds", Math.Round(k.Seconds, 2));
        w.WriteStartArray("properties");
        foreach (string p in k.Properties) w.WriteStringValue(p);
        w.WriteEndArray();
        w.WriteString("message", k.Message);
        if (k.Journal is not null) w.WriteString("journal", k.Journal);
        w.WriteEndObject();
    }
}
