using System.Globalization;
using System.Text;
using System.Text.Json;
using Twin.Kernel;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using Twin.Simulation.Config;

namespace Twin.Simulation.Scenarios;

/// <summary>A parsed scenario file (format: docs/scenarios.md).</summary>
public sealed class ScenarioDefinition
{
    public required string Name { get; init; }

    /// <summary>Config keys the scenario sets (arch, cpus, seed, nohzFull, bugs, run.events), with where they came from.</summary>
    public required IReadOnlyList<(string Key, string Value, string Source)> Settings { get; init; }

    public required IReadOnlyList<TaskSpec> Tasks { get; init; }

    public required IReadOnlyList<Expectation> Expectations { get; init; }

    /// <summary>Property ids the scenario is meant to violate (bug scenarios); informational, checked by tests.</summary>
    public IReadOnlyList<string> ExpectedViolations { get; init; } = [];

    /// <summary>Litmus: shared variables by id (store and load steps), registers by id (load steps).</summary>
    public IReadOnlyList<string> Variables { get; init; } = [];

    public IReadOnlyList<string> Registers { get; init; } = [];

    /// <summary>
    /// Litmus: registers a membarrier step fills with what its sample (b) found, the mask of CPUs it
    /// sends IPIs to (bit N for CPU N; <c>sampled_into</c>), by task id (declaration order + 1) and
    /// that task's membarrier call number (1 for its first).
    /// </summary>
    public IReadOnlyList<(int Task, int Call, int Reg)> SampleRegisters { get; init; } = [];

    /// <summary>Litmus: the outcome the memory model forbids, as register → value (top-level <c>forbid</c>).</summary>
    public IReadOnlyDictionary<string, long> Forbidden { get; init; } = new Dictionary<string, long>();

    /// <summary>The scenario as JSON without comments, stored with the run so re-execution has it.</summary>
    public required string CanonicalJson { get; init; }

    /// <summary>Where the scenario came from, for messages.</summary>
    public required string Where { get; init; }

    /// <summary>Checks that need the final config (e.g. affinity within the CPU count).</summary>
    public void Validate(KernelConfig kernel)
    {
        foreach (TaskSpec t in Tasks)
        {
            if (t.Affinity >= kernel.Cpus)
            {
                throw new ConfigException($"{Where}: task '{t.Name}' is pinned to cpu {t.Affinity}, but the machine has {kernel.Cpus} CPUs");
            }
            foreach (Step s in t.Steps)
            {
                if (s.Kind is not (StepKind.TextPoke or StepKind.TextExec)) continue;
                string at = $"{Where}: tasks[{t.Name}].steps[{s.Index}]";
                if (kernel.TextPoke is not { } tp) throw new ConfigException($"{at}: text_poke and text_exec steps need \"textPoke.enabled\": true (in \"set\")");
                int highest = s.Kind == StepKind.TextExec ? s.Target : 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)s.Target);
                if (highest >= tp.Sites) throw new ConfigException($"{at}: site {highest} does not exist (textPoke.sites = {tp.Sites}: sites 0..{tp.Sites - 1})");
            }
        }
    }
}

/// <summary>Reads scenario files strictly: every key known, every error naming its place.</summary>
public static class ScenarioParser
{
    private static readonly JsonDocumentOptions s_options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly HashSet<string> s_topKeys = ["name", "description", "arch", "cpus", "seed", "nohzFull", "bugs", "faults", "omit", "events", "set", "expect", "tasks", "forbid"];
    private static readonly HashSet<string> s_taskKeys = ["name", "process", "kthread", "cpu", "steps"];
    private static readonly HashSet<string> s_actions = ["membarrier", "spin_ns", "rseq_ns", "sleep_ns", "yield", "write_code", "mprotect", "munmap", "fork", "exec", "exit", "use_mm", "unuse_mm", "store", "load", "arch_prctl", "clone", "tagged_syscall", "text_poke", "text_exec"];
    private static readonly HashSet<string> s_archPrctlKeys = ["arch_prctl", "bits", "expect", "expectErrno", "comment", "repeat"];

    private static readonly HashSet<string> s_membarrierKeys = ["membarrier", "flags", "cpu", "expect", "expectErrno", "sampled_into", "comment", "repeat"];

    /// <summary>At most this many copies of one step (<c>"repeat"</c>); a task's steps are held in memory.</summary>
    public const int MaxRepeat = 100_000;

    public static ScenarioDefinition ParseFile(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"scenario file '{path}' does not exist");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"scenario file '{path}' cannot be read: {e.Message}", e);
        }
        return Parse(text, $"scenario '{path}'");
    }

    public static ScenarioDefinition Parse(string json, string where)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, s_options);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{where} is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ConfigException($"{where}: the scenario must be a JSON object");
            CheckKeys(root, s_topKeys, where);
            var settings = new List<(string, string, string)>();
            foreach ((string field, string key) in new[] { ("arch", "arch"), ("cpus", "cpus"), ("seed", "seed"), ("nohzFull", "nohzFull"), ("events", "run.events") })
            {
                if (root.TryGetProperty(field, out JsonElement v)) settings.Add((key, Scalar(v, $"{where}: {field}"), $"{where}: {field}"));
            }
            if (root.TryGetProperty("bugs", out JsonElement bugs))
            {
                if (bugs.ValueKind != JsonValueKind.Array) throw new ConfigException($"{where}: bugs must be an array of bug ids");
                int i = 0;
                foreach (JsonElement b in bugs.EnumerateArray())
                {
                    settings.Add(($"bugs.{i}", Scalar(b, $"{where}: bugs[{i}]"), $"{where}: bugs[{i}]"));
                    i++;
                }
            }
            if (root.TryGetProperty("set", out JsonElement set))
            {
                if (set.ValueKind != JsonValueKind.Object) throw new ConfigException($"{where}: set must be an object of config keys, e.g. {{\"kernel.stepNsMin\": 200}}");
                foreach (JsonProperty p in set.EnumerateObject()) settings.Add((p.Name, Scalar(p.Value, $"{where}: set.{p.Name}"), $"{where}: set.{p.Name}"));
            }
            string[] expected = [];
            if (root.TryGetProperty("expect", out JsonElement exp))
            {
                if (exp.ValueKind != JsonValueKind.Array) throw new ConfigException($"{where}: expect must be an array of property ids, e.g. [\"P-SC\"]");
                expected = [.. exp.EnumerateArray().Select((e, i) => Scalar(e, $"{where}: expect[{i}]"))];
            }
            if (root.TryGetProperty("faults", out JsonElement faults))
            {
                if (faults.ValueKind != JsonValueKind.Array) throw new ConfigException($"{where}: faults must be an array of fault specs, e.g. [\"ipi-drop:ipi=mb,once\"]");
                int i = 0;
                foreach (JsonElement f in faults.EnumerateArray())
                {
                    string spec = Scalar(f, $"{where}: faults[{i}]");
                    FaultSpecs.Parse(spec, $"{where}: faults[{i}]"); // refused here, naming the file, rather than at load
                    settings.Add(($"faults.{i}", spec, $"{where}: faults[{i}]"));
                    i++;
                }
            }
            if (root.TryGetProperty("omit", out JsonElement omit))
            {
                if (omit.ValueKind != JsonValueKind.Array) throw new ConfigException($"{where}: omit must be an array of sites, e.g. [\"membarrier.a\"]");
                int i = 0;
                foreach (JsonElement o in omit.EnumerateArray())
                {
                    string name = Scalar(o, $"{where}: omit[{i}]");
                    OmitNames.Parse(name, $"{where}: omit[{i}]"); // refused here, naming the file, rather than at load
                    settings.Add(($"omit.{i}", name, $"{where}: omit[{i}]"));
                    i++;
                }
            }
            if (!root.TryGetProperty("tasks", out JsonElement tasks) || tasks.ValueKind != JsonValueKind.Array || tasks.GetArrayLength() == 0)
            {
                throw new ConfigException($"{where}: tasks must be a non-empty array");
            }
            var litmus = new LitmusNames();
            var (specs, expectations) = ParseTasks(tasks, where, litmus);
            var forbidden = new Dictionary<string, long>(StringComparer.Ordinal);
            if (root.TryGetProperty("forbid", out JsonElement forbid))
            {
                if (forbid.ValueKind != JsonValueKind.Object) throw new ConfigException($"{where}: forbid must be an object of register values, e.g. {{\"r1\": 0, \"r2\": 0}}");
                foreach (JsonProperty p in forbid.EnumerateObject())
                {
                    if (!litmus.Registers.ContainsKey(p.Name)) throw new ConfigException($"{where}: forbid names register '{p.Name}', which no load or sampled_into fills");
                    forbidden[p.Name] = Integer(p.Value, $"{where}: forbid.{p.Name}", long.MinValue, long.MaxValue);
                }
            }
            var canonical = new MemoryStream();
            using (var w = new Utf8JsonWriter(canonical)) root.WriteTo(w);
            return new ScenarioDefinition
            {
                Name = root.TryGetProperty("name", out JsonElement n) ? Scalar(n, $"{where}: name") : "scenario",
                Settings = settings,
                Tasks = specs,
                Expectations = expectations,
                ExpectedViolations = expected,
                CanonicalJson = Encoding.UTF8.GetString(canonical.ToArray()),
                Variables = [.. litmus.Variables.OrderBy(v => v.Value).Select(v => v.Key)],
                Registers = [.. litmus.Registers.OrderBy(v => v.Value).Select(v => v.Key)],
                SampleRegisters = litmus.SampleRegisters,
                Forbidden = forbidden,
                Where = where,
            };
        }
    }

    /// <summary>Litmus variable and register names, numbered as first met.</summary>
    private sealed class LitmusNames
    {
        public Dictionary<string, int> Variables { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, int> Registers { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> RegisterOwner { get; } = new(StringComparer.Ordinal);

        public List<(int Task, int Call, int Reg)> SampleRegisters { get; } = [];

        /// <summary>The id of register <paramref name="reg"/>, which only <paramref name="task"/> may fill.</summary>
        public int Register(string reg, string task, string at)
        {
            if (RegisterOwner.TryGetValue(reg, out string? owner) && owner != task)
            {
                throw new ConfigException($"{at}: register '{reg}' is already loaded by task '{owner}'; registers belong to one task");
            }
            RegisterOwner[reg] = task;
            if (!Registers.TryGetValue(reg, out int regId)) Registers[reg] = regId = Registers.Count;
            return regId;
        }

        public int Variable(string name) => Variables.TryGetValue(name, out int id) ? id : Variables[name] = Variables.Count;
    }

    private static (List<TaskSpec>, List<Expectation>) ParseTasks(JsonElement tasks, string where, LitmusNames litmus)
    {
        var declared = new List<(string Name, string? Process, int Affinity, JsonElement Steps, string At)>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var leaders = new Dictionary<string, int>(StringComparer.Ordinal);
        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        int index = 0;
        foreach (JsonElement t in tasks.EnumerateArray())
        {
            string at = $"{where}: tasks[{index}]";
            if (t.ValueKind != JsonValueKind.Object) throw new ConfigException($"{at} must be an object");
            CheckKeys(t, s_taskKeys, at);
            string name = t.TryGetProperty("name", out JsonElement n) ? Scalar(n, $"{at}.name") : throw new ConfigException($"{at} has no name");
            if (!ids.TryAdd(name, index + 1)) throw new ConfigException($"{at}: task name '{name}' is used twice");
            bool kthread = t.TryGetProperty("kthread", out JsonElement k) && Bool(k, $"{at}.kthread");
            string? process = t.TryGetProperty("process", out JsonElement p) ? Scalar(p, $"{at}.process") : null;
            if (kthread == (process is not null)) throw new ConfigException($"{at} ('{name}') needs either \"process\" or \"kthread\": true");
            int affinity = t.TryGetProperty("cpu", out JsonElement c) ? (int)Integer(c, $"{at}.cpu", 0, Limits.MaxCpus - 1) : -1;
            if (!t.TryGetProperty("steps", out JsonElement steps) || steps.ValueKind != JsonValueKind.Array)
            {
                throw new ConfigException($"{at} ('{name}') needs a steps array");
            }
            if (process is not null)
            {
                leaders.TryAdd(process, index + 1);
                sizes[process] = sizes.GetValueOrDefault(process) + 1;
            }
            declared.Add((name, process, affinity, steps, $"{at} ('{name}')"));
            index++;
        }
        var forked = new HashSet<string>(StringComparer.Ordinal);
        var specs = new List<TaskSpec>();
        var expectations = new List<Expectation>();
        foreach (var d in declared)
        {
            var steps = new List<Step>();
            int s = 0;
            bool usingMm = false;
            int calls = 0;
            foreach (JsonElement step in d.Steps.EnumerateArray())
            {
                string at = $"{d.At}.steps[{s}]";
                Step parsed = ParseStep(step, steps.Count, at, d.Process is null, ids, leaders, out Expectation? expect, d.Name, litmus);
                int repeat = Repeat(step, parsed, expect, at);
                if (parsed.Kind == StepKind.Membarrier)
                {
                    calls += repeat;
                    if (step.TryGetProperty("sampled_into", out JsonElement into))
                    {
                        litmus.SampleRegisters.Add((ids[d.Name], calls, litmus.Register(Scalar(into, $"{at}.sampled_into"), d.Name, at)));
                    }
                }
                if (parsed.Kind == StepKind.Clone)
                {
                    var thread = declared[parsed.Target - 1];
                    if (thread.Process != d.Process || thread.Name == d.Name || leaders[d.Process!] == parsed.Target)
                    {
                        throw new ConfigException($"{at}: clone target '{thread.Name}' must be another task of process '{d.Process}', declared after its first task");
                    }
                    if (!forked.Add(thread.Name)) throw new ConfigException($"{at}: task '{thread.Name}' is started twice");
                }
                if (parsed.Kind == StepKind.Fork)
                {
                    var child = declared[parsed.Target - 1];
                    if (child.Process is null || sizes[child.Process] != 1 || child.Process == d.Process)
                    {
                        throw new ConfigException($"{at}: fork target '{child.Name}' must be the only task of a process of its own");
                    }
                    if (!forked.Add(child.Name)) throw new ConfigException($"{at}: task '{child.Name}' is forked twice");
                }
                if (parsed.Kind == StepKind.Exec && sizes[d.Process!] != 1)
                {
                    throw new ConfigException($"{at}: exec in a multi-threaded process is not modelled (de_thread)");
                }
                if (d.Process is null)
                {
                    // A kernel thread touches user memory only through an mm it uses (copy_to/from_user after kthread_use_mm).
                    if (parsed.Kind is StepKind.Store or StepKind.Load && !usingMm)
                    {
                        throw new ConfigException($"{at}: a kernel thread's store or load needs a use_mm step before it");
                    }
                    if (parsed.Kind == StepKind.UseMm) usingMm = true;
                    if (parsed.Kind == StepKind.UnuseMm) usingMm = false;
                }
                if (expect is not null) expectations.Add(expect);
                for (int r = 0; r < repeat; r++) steps.Add(parsed with { Index = steps.Count });
                s++;
            }
            specs.Add(new TaskSpec(d.Name, d.Process, d.Affinity, steps, ForkedBy: false));
        }
        for (int i = 0; i < specs.Count; i++)
        {
            if (forked.Contains(specs[i].Name)) specs[i] = specs[i] with { ForkedBy = true };
        }
        if (specs.All(t => t.ForkedBy)) throw new ConfigException($"{where}: every task is started by a fork; at least one must run at boot");
        return (specs, expectations);
    }

    /// <summary>
    /// <c>"repeat": N</c>: the step N times in a row (a loop that gives a race many tries). Not for
    /// steps that start or end a task or process, nor for litmus stores and loads or steps with an
    /// expected return or a sampled register, each of which names one access or call.
    /// </summary>
    private static int Repeat(JsonElement step, Step parsed, Expectation? expect, string at)
    {
        if (!step.TryGetProperty("repeat", out JsonElement r)) return 1;
        int repeat = (int)Integer(r, $"{at}.repeat", 1, MaxRepeat);
        if (repeat == 1) return 1;
        if (!CanRepeat(parsed.Kind))
        {
            throw new ConfigException($"{at}: '{parsed.Kind.ToString().ToLowerInvariant()}' steps cannot repeat");
        }
        if (expect is not null || step.TryGetProperty("sampled_into", out _))
        {
            throw new ConfigException($"{at}: a step with expect or sampled_into names one call and cannot repeat");
        }
        return repeat;
    }

    /// <summary>May a step of this kind carry <c>"repeat"</c>? Not one that starts or ends a task or process, nor a litmus store or load.</summary>
    public static bool CanRepeat(StepKind kind) =>
        kind is not (StepKind.Fork or StepKind.Clone or StepKind.Exec or StepKind.Exit or StepKind.Store or StepKind.Load);

    private static Step ParseStep(JsonElement step, int index, string at, bool kthread, Dictionary<string, int> ids,
        Dictionary<string, int> leaders, out Expectation? expect, string task, LitmusNames litmus)
    {
        expect = null;
        if (step.ValueKind != JsonValueKind.Object) throw new ConfigException($"{at} must be an object such as {{\"spin_ns\": 1000}}");
        string[] actions = step.EnumerateObject().Select(p => p.Name).Where(s_actions.Contains).ToArray();
        if (actions.Length != 1)
        {
            throw new ConfigException($"{at} needs exactly one of {string.Join(", ", s_actions)}; found {(actions.Length == 0 ? "none" : string.Join(", ", actions))}");
        }
        string action = actions[0];
        if (action == "store") CheckKeys(step, ["store", "value", "comment", "repeat"], at);
        else if (action == "load") CheckKeys(step, ["load", "into", "comment", "repeat"], at);
        else if (action == "arch_prctl") CheckKeys(step, s_archPrctlKeys, at);
        else if (action != "membarrier") CheckKeys(step, [action, "comment", "repeat"], at);
        bool userOnly = action is "membarrier" or "arch_prctl" or "clone" or "tagged_syscall" or "write_code" or "mprotect" or "munmap" or "fork" or "exec" or "exit" or "rseq_ns";
        if (kthread && userOnly) throw new ConfigException($"{at}: a kernel thread cannot take a '{action}' step");
        if (!kthread && action is "use_mm" or "unuse_mm") throw new ConfigException($"{at}: only kernel threads take '{action}'");
        JsonElement v = step.GetProperty(action);
        switch (action)
        {
            case "spin_ns": return new Step(StepKind.Spin, Ns: Integer(v, at, 1, 1_000_000_000_000), Index: index);
            case "rseq_ns": return new Step(StepKind.Rseq, Ns: Integer(v, at, 1, 1_000_000_000_000), Index: index);
            case "sleep_ns": return new Step(StepKind.Sleep, Ns: Integer(v, at, 1, 1_000_000_000_000), Index: index);
            case "yield": return Flag(v, at, StepKind.Yield, index);
            case "write_code": return Flag(v, at, StepKind.WriteCode, index);
            case "mprotect": return Flag(v, at, StepKind.Mprotect, index);
            case "munmap": return Flag(v, at, StepKind.Munmap, index);
            case "exec": return Flag(v, at, StepKind.Exec, index);
            case "exit": return Flag(v, at, StepKind.Exit, index);
            case "tagged_syscall": return Flag(v, at, StepKind.TaggedSyscall, index);
            case "text_poke": return TextPokeStep(v, at, index);
            case "text_exec":
                if (v.ValueKind == JsonValueKind.String)
                {
                    if (v.GetString() == "kprobe") return new Step(StepKind.TextExec, Target: -1, Index: index);
                    throw new ConfigException($"{at}: text_exec = '{v.GetString()}' is not a site number or \"kprobe\"");
                }
                return new Step(StepKind.TextExec, Target: (int)Integer(v, $"{at}.text_exec", 0, 29), Index: index);
            case "unuse_mm": return Flag(v, at, StepKind.UnuseMm, index);
            case "store":
                if (!step.TryGetProperty("value", out JsonElement value)) throw new ConfigException($"{at}: a store needs a value, e.g. {{\"store\": \"x\", \"value\": 1}}");
                return new Step(StepKind.Store, Target: litmus.Variable(Scalar(v, at)), Cmd: (int)Integer(value, $"{at}.value", int.MinValue, int.MaxValue), Index: index);
            case "load":
                if (!step.TryGetProperty("into", out JsonElement into)) throw new ConfigException($"{at}: a load needs a register, e.g. {{\"load\": \"x\", \"into\": \"r1\"}}");
                int regId = litmus.Register(Scalar(into, $"{at}.into"), task, at);
                return new Step(StepKind.Load, Target: litmus.Variable(Scalar(v, at)), Cmd: regId, Index: index);
            case "arch_prctl":
                string optText = Scalar(v, $"{at}.arch_prctl");
                if (!ArchPrctlOption.TryParse(optText, out int option)) throw new ConfigException($"{at}: '{optText}' is not an arch_prctl option (ENABLE_TAGGED_ADDR, GET_UNTAG_MASK, GET_MAX_TAG_BITS)");
                int bits = step.TryGetProperty("bits", out JsonElement b) ? (int)Integer(b, $"{at}.bits", 0, 64) : 0;
                expect = ParseExpectation(step, at, task, index);
                return new Step(StepKind.ArchPrctl, Cmd: option, Target: bits, Index: index);
            case "clone":
                string thread = Scalar(v, at);
                if (!ids.TryGetValue(thread, out int threadId)) throw new ConfigException($"{at}: clone of unknown task '{thread}'");
                return new Step(StepKind.Clone, Target: threadId, Index: index);
            case "fork":
                string child = Scalar(v, at);
                if (!ids.TryGetValue(child, out int childId)) throw new ConfigException($"{at}: fork of unknown task '{child}'");
                return new Step(StepKind.Fork, Target: childId, Index: index);
            case "use_mm":
                string process = Scalar(v, at);
                if (!leaders.TryGetValue(process, out int tgid)) throw new ConfigException($"{at}: use_mm of unknown process '{process}'");
                return new Step(StepKind.UseMm, Target: tgid, Index: index);
            default:
                CheckKeys(step, s_membarrierKeys, at);
                string cmdText = Scalar(v, $"{at}.membarrier");
                if (!MembarrierCmd.TryParse(cmdText, out int cmd)) throw new ConfigException($"{at}: '{cmdText}' is not a membarrier command");
                int flags = 0;
                if (step.TryGetProperty("flags", out JsonElement f))
                {
                    string ft = Scalar(f, $"{at}.flags");
                    flags = ft is "CPU" or "FLAG_CPU" or "MEMBARRIER_CMD_FLAG_CPU" ? MembarrierCmd.FlagCpu
                        : int.TryParse(ft, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int fn) ? fn
                        : throw new ConfigException($"{at}.flags: '{ft}' is not a number or FLAG_CPU");
                }
                int cpu = step.TryGetProperty("cpu", out JsonElement c) ? (int)Integer(c, $"{at}.cpu", -1, int.MaxValue) : -1;
                expect = ParseExpectation(step, at, task, index);
                return new Step(StepKind.Membarrier, Cmd: cmd, Flags: flags, CpuId: cpu, Index: index);
        }
    }

    /// <summary>A syscall step's <c>expect</c> (return value) or <c>expectErrno</c>, or null.</summary>
    private static Expectation? ParseExpectation(JsonElement step, string at, string task, int index)
    {
        long? ret = step.TryGetProperty("expect", out JsonElement e) ? Integer(e, $"{at}.expect", long.MinValue, long.MaxValue) : null;
        int? errno = null;
        if (step.TryGetProperty("expectErrno", out JsonElement en))
        {
            string name = Scalar(en, $"{at}.expectErrno");
            if (!Errno.TryParse(name, out int errnoValue)) throw new ConfigException($"{at}.expectErrno: '{name}' is not EPERM, EINVAL, ENOMEM, ENOSYS, EBUSY or ENODEV");
            errno = errnoValue;
        }
        if (ret is not null && errno is not null) throw new ConfigException($"{at}: expect and expectErrno exclude each other");
        return ret is not null || errno is not null ? new Expectation(task, index, ret, errno) : null;
    }

    private static Step Flag(JsonElement v, string at, StepKind kind, int index)
    {
        if (v.ValueKind != JsonValueKind.True) throw new ConfigException($"{at}: the value must be true");
        return new Step(kind, Index: index);
    }

    private static void CheckKeys(JsonElement obj, IEnumerable<string> allowed, string at)
    {
        var set = allowed as HashSet<string> ?? [.. allowed];
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (!set.Contains(p.Name)) throw new ConfigException($"{at}: unknown key '{p.Name}' (known: {string.Join(", ", set)})");
        }
    }

    /// <summary>{"text_poke": [0, 2]}: one batch patching those sites.</summary>
    private static Step TextPokeStep(JsonElement v, string at, int index)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0) throw new ConfigException($"{at}: text_poke takes a non-empty array of site numbers, e.g. {{\"text_poke\": [0, 2]}}");
        int mask = 0;
        int i = 0;
        foreach (JsonElement e in v.EnumerateArray())
        {
            int site = (int)Integer(e, $"{at}.text_poke[{i++}]", 0, 29);
            if ((mask & (1 << site)) != 0) throw new ConfigException($"{at}: text_poke names site {site} twice");
            mask |= 1 << site;
        }
        return new Step(StepKind.TextPoke, Target: mask, Index: index);
    }

    private static string Scalar(JsonElement v, string at) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString()!,
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => throw new ConfigException($"{at} must be a string, number or boolean"),
    };

    private static bool Bool(JsonElement v, string at) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new ConfigException($"{at} must be true or false"),
    };

    private static long Integer(JsonElement v, string at, long min, long max)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n)) throw new ConfigException($"{at} must be an integer");
        if (n < min || n > max) throw new ConfigException($"{at} = {n} is out of range ({min}..{max})");
        return n;
    }
}
