using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Twin.Kernel;
using Twin.Simulation.Scenarios;

namespace Twin.Simulation.Config;

/// <summary>
/// Builds the effective config: built-in defaults, then an optional JSON file (comments allowed),
/// then an optional scenario file (its arch, cpus, seed, nohzFull, bugs and tasks), then
/// command-line overrides (<c>--set key=value</c> and the dedicated flags). Every value is checked
/// against <see cref="ConfigSchema"/>; errors name the key and the file or flag.
/// </summary>
public static class ConfigLoader
{
    /// <param name="file">JSON config file, or null for defaults only.</param>
    /// <param name="overrides">(key, value, source) from the command line, applied last.</param>
    /// <param name="scenarioFile">Scenario file, or null for the random workload.</param>
    /// <param name="given">When set, receives every key the file, the scenario and the overrides gave (what a swarm keeps as given).</param>
    public static TwinConfig Load(string? file, IEnumerable<(string Key, string Value, string Source)> overrides, string? scenarioFile = null,
        ISet<string>? given = null)
    {
        ScenarioDefinition? scenario = scenarioFile is null ? null : ScenarioParser.ParseFile(scenarioFile);
        return Build(file is null ? null : (file, LoadFile(file)), scenario, overrides, file is null ? "config" : $"config '{file}'", given);
    }

    /// <summary><paramref name="config"/> with <paramref name="overrides"/> applied on top, checked as any config is (a swarm's draw).</summary>
    public static TwinConfig With(TwinConfig config, IEnumerable<(string Key, string Value)> overrides, string source)
    {
        TwinConfig parsed = FromRunJson(ToJson(config), source, overrides.Select(o => (o.Key, o.Value, source)));
        return parsed with { Expectations = config.Expectations, Litmus = config.Litmus };
    }

    /// <summary>Parses the canonical JSON stored with a run (see <see cref="ToJson"/>).</summary>
    public static TwinConfig FromRunJson(string json, string where) => FromRunJson(json, where, []);

    private static TwinConfig FromRunJson(string json, string where, IEnumerable<(string Key, string Value, string Source)> overrides)
    {
        string configPart;
        ScenarioDefinition? scenario = null;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                foreach (JsonProperty p in doc.RootElement.EnumerateObject())
                {
                    if (p.NameEquals("scenario")) scenario = ScenarioParser.Parse(p.Value.GetRawText(), $"{where}: scenario");
                    else p.WriteTo(w);
                }
                w.WriteEndObject();
            }
            configPart = Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{where}: the stored config is not valid JSON ({e.Message})", e);
        }
        IConfigurationRoot root = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(configPart))).Build();
        return Build((where, root), scenario, overrides, where);
    }

    /// <summary>The effective config as canonical JSON: every key, fixed order, invariant numbers; the scenario inline.</summary>
    public static string ToJson(TwinConfig c)
    {
        KernelConfig k = c.Kernel;
        TimingConfig t = k.Timing;
        WorkloadConfig wl = k.Workload;
        StepWeights wt = wl.Weights;
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("seed", c.Seed);
            w.WriteNumber("cpus", k.Cpus);
            w.WriteString("arch", k.Arch.Name);
            w.WriteBoolean("nohzFull", k.NohzFull);
            w.WriteStartArray("bugs");
            foreach (BugSet b in Bugs.Each(k.Bugs)) w.WriteStringValue(b.ToString());
            w.WriteEndArray();
            if (k.Faults.Count > 0)
            {
                w.WriteStartArray("faults");
                foreach (Twin.Kernel.Faults.FaultRule f in k.Faults) w.WriteStringValue(f.Spec);
                w.WriteEndArray();
            }
            if (!k.Omit.IsEmpty)
            {
                w.WriteStartArray("omit");
                foreach (Twin.Kernel.Sites.OrderingSite site in k.Omit.Each()) w.WriteStringValue(Twin.Kernel.Sites.SiteCatalog.Get(site).Name);
                w.WriteEndArray();
            }
            w.WriteStartObject("run");
            w.WriteNumber("events", c.Events);
            w.WriteEndObject();
            w.WriteStartObject("journal");
            w.WriteNumber("checkpointEveryEvents", c.CheckpointEveryEvents);
            w.WriteEndObject();
            w.WriteStartObject("kernel");
            WriteTiming(w, t, "");
            w.WriteBoolean("lam", k.Lam);
            w.WriteEndObject();
            if (k.TextPoke is { } tp)
            {
                w.WriteStartObject("textPoke");
                w.WriteBoolean("enabled", true);
                w.WriteNumber("sites", tp.Sites);
                w.WriteNumber("nmiEveryNs", tp.NmiEveryNs);
                w.WriteNumber("livenessNs", tp.LivenessNs);
                w.WriteEndObject();
            }
            if (k.Isolation is { } iso)
            {
                w.WriteStartObject("isolation");
                w.WriteString("cpus", iso.Cpus.Below(k.Cpus).ToCpuList());
                w.WriteBoolean("defer", iso.Defer);
                w.WriteEndObject();
            }
            w.WriteStartObject("runtime");
            w.WriteString("strategy", c.Strategy);
            w.WriteNumber("pctDepth", c.PctDepth);
            w.WriteNumber("pctHorizon", c.PctHorizon);
            w.WriteEndObject();
            w.WriteStartObject("litmus");
            w.WriteNumber("storeBufferNs", c.StoreBufferNs);
            w.WriteNumber("currStoreBufferNs", k.CurrStoreBufferNs);
            w.WriteEndObject();
            w.WriteStartObject("memory");
            w.WriteBoolean("weak", c.WeakMemory);
            w.WriteEndObject();
            w.WriteStartObject("workload");
            w.WriteNumber("processes", wl.Processes);
            w.WriteNumber("threadsPerProcess", wl.ThreadsPerProcess);
            w.WriteNumber("kthreads", wl.Kthreads);
            w.WriteNumber("maxTasks", wl.MaxTasks);
            w.WriteNumber("spinNsMin", wl.SpinNsMin);
            w.WriteNumber("spinNsMax", wl.SpinNsMax);
            w.WriteNumber("sleepNsMin", wl.SleepNsMin);
            w.WriteNumber("sleepNsMax", wl.SleepNsMax);
            w.WriteNumber("registerProbability", wl.RegisterProbability);
            w.WriteStartObject("weights");
            w.WriteNumber("spin", wt.Spin);
            w.WriteNumber("sleep", wt.Sleep);
            w.WriteNumber("yield", wt.Yield);
            w.WriteNumber("membarrier", wt.Membarrier);
            w.WriteNumber("mprotect", wt.Mprotect);
            w.WriteNumber("munmap", wt.Munmap);
            w.WriteNumber("writeCode", wt.WriteCode);
            w.WriteNumber("rseq", wt.Rseq);
            w.WriteNumber("fork", wt.Fork);
            w.WriteNumber("exec", wt.Exec);
            w.WriteNumber("exit", wt.Exit);
            w.WriteNumber("useMm", wt.UseMm);
            w.WriteNumber("lam", wt.Lam);
            w.WriteNumber("textPoke", wt.TextPoke);
            w.WriteNumber("access", wt.Access);
            w.WriteEndObject();
            w.WriteEndObject();
            if (c.Swarm is { } swarm)
            {
                w.WriteStartObject("swarm");
                w.WriteBoolean("enabled", true);
                if (swarm.Pinned.Count > 0) w.WriteString("pinned", swarm.PinnedList);
                w.WriteEndObject();
            }
            if (c.ScenarioJson is not null)
            {
                w.WritePropertyName("scenario");
                w.WriteRawValue(c.ScenarioJson);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The <c>kernel.*</c> timing keys as JSON properties named <paramref name="prefix"/> + key.</summary>
    public static void WriteTiming(Utf8JsonWriter w, TimingConfig t, string prefix)
    {
        w.WriteNumber(prefix + "sliceNsMin", t.SliceNsMin);
        w.WriteNumber(prefix + "sliceNsMax", t.SliceNsMax);
        w.WriteNumber(prefix + "stepNsMin", t.StepNsMin);
        w.WriteNumber(prefix + "stepNsMax", t.StepNsMax);
        w.WriteNumber(prefix + "stallProbability", t.StallProbability);
        w.WriteNumber(prefix + "stallNsMax", t.StallNsMax);
        // Written only when on, so configs stored before the strategy existed read back unchanged.
        if (t.WindowStallProbability > 0) w.WriteNumber(prefix + "windowStallProbability", t.WindowStallProbability);
        w.WriteNumber(prefix + "ipiNsMin", t.IpiNsMin);
        w.WriteNumber(prefix + "ipiNsMax", t.IpiNsMax);
        w.WriteNumber(prefix + "rcuPollNs", t.RcuPollNs);
        w.WriteNumber(prefix + "reschedOnIrqExit", t.ReschedOnIrqExit);
        w.WriteNumber(prefix + "iretOnSyscallReturn", t.IretOnSyscallReturn);
    }

    /// <summary>Parses a <c>--set key=value</c> argument.</summary>
    public static (string Key, string Value) ParseAssignment(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0) throw new ConfigException($"--set '{text}': expected key=value, e.g. --set workload.processes=4");
        return (text[..eq].Trim(), text[(eq + 1)..].Trim());
    }

    private static Twin.Simulation.Litmus.LitmusSpec? LitmusOf(ScenarioDefinition s) =>
        s.Registers.Count == 0 ? null
        : new(s.Name, s.Registers, s.SampleRegisters, [.. s.Forbidden.Select(f => (s.Registers.ToList().IndexOf(f.Key), f.Value))]);

    private static TwinConfig Build((string Where, IConfigurationRoot Root)? file, ScenarioDefinition? scenario,
        IEnumerable<(string Key, string Value, string Source)> overrides, string where, ISet<string>? given = null)
    {
        var draft = new ConfigSchema.Draft();
        if (file is { } f) ApplyJson(draft, f.Where, f.Root);
        if (scenario is not null)
        {
            foreach ((string key, string value, string source) in scenario.Settings) ConfigSchema.Set(draft, key, value, source);
            draft.K = draft.K with { Tasks = scenario.Tasks };
            draft.Config = draft.Config with { ScenarioJson = scenario.CanonicalJson, Expectations = scenario.Expectations, Litmus = LitmusOf(scenario) };
        }
        foreach ((string key, string value, string source) in overrides) ConfigSchema.Set(draft, key, value, source);
        TwinConfig config = ConfigSchema.Freeze(draft, where);
        scenario?.Validate(config.Kernel);
        given?.UnionWith(draft.Given);
        return config;
    }

    private static IConfigurationRoot LoadFile(string file)
    {
        if (!File.Exists(file)) throw new ConfigException($"config file '{file}' does not exist");
        try
        {
            return new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false).Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or JsonException)
        {
            throw new ConfigException($"config file '{file}' is not valid JSON: {Inner(e)}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"config file '{file}' cannot be read: {e.Message}", e);
        }
    }

    private static void ApplyJson(ConfigSchema.Draft draft, string where, IConfigurationRoot root)
    {
        string source = $"config '{where}'";
        foreach (KeyValuePair<string, string?> pair in root.AsEnumerable().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string key = pair.Key.Replace(':', '.');
            // A section's leaves come as their own pairs; an empty array or object ("bugs": []) arrives as "".
            bool isSection = string.IsNullOrEmpty(pair.Value) && (HasChildren(root, pair.Key) || ConfigSchema.IsSection(key));
            if (isSection) continue;
            if (ConfigSchema.IsSection(key)) throw new ConfigException($"{source}: '{key}' must be an object or array, not a value");
            ConfigSchema.Set(draft, key, pair.Value, source);
        }
    }

    private static bool HasChildren(IConfiguration root, string key) => root.GetSection(key).GetChildren().Any();

    private static string Inner(Exception e)
    {
        Exception inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        return inner.Message;
    }
}
