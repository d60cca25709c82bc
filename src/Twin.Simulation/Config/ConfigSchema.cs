using System.Globalization;
using Twin.Kernel;
using Twin.Kernel.Arch;
using Twin.Kernel.Sites;

namespace Twin.Simulation.Config;

/// <summary>
/// The known config keys, their types and ranges. A key not listed here is an error, so a typo
/// never silently falls back to a default. Defaults are the records' own initial values. Paths
/// use '.' as users write them in docs and messages; Microsoft.Extensions.Configuration's ':' is
/// translated. Array keys ("bugs.0") are collected.
/// </summary>
internal static class ConfigSchema
{
    /// <summary>Mutable draft filled key by key, then frozen into <see cref="TwinConfig"/>.</summary>
    internal sealed class Draft
    {
        public TwinConfig Config = new();
        public readonly List<(string Value, string Where)> Bugs = [];
        public readonly List<(string Value, string Where)> Faults = [];
        public readonly List<(string Value, string Where)> Omit = [];

        public KernelConfig K
        {
            get => Config.Kernel;
            set => Config = Config with { Kernel = value };
        }

        public TimingConfig T
        {
            get => K.Timing;
            set => K = K with { Timing = value };
        }

        public WorkloadConfig W
        {
            get => K.Workload;
            set => K = K with { Workload = value };
        }

        /// <summary>The textPoke section; it takes effect only with textPoke.enabled.</summary>
        public TextPokeConfig Text = new();

        public bool TextOn;

        /// <summary>The isolation section: nohz_full CPUs (as written, checked against cpus in Freeze) and the deferral switch.</summary>
        public (string List, string Where)? IsolatedCpus;

        public bool Defer;

        /// <summary>workload.weights.access was given: the weak-memory mode leaves it as it is.</summary>
        public bool AccessSet;

        /// <summary>litmus.storeBufferNs was given: the weak-memory mode leaves it as it is.</summary>
        public bool StoreBufferSet;

        /// <summary>swarm.enabled and swarm.pinned as given.</summary>
        public bool SwarmOn;

        public string SwarmPinned = "";

        /// <summary>Every key given (array keys by their array's name: "faults"), for what a swarm must not draw.</summary>
        public readonly HashSet<string> Given = new(StringComparer.OrdinalIgnoreCase);

        public StepWeights Wt
        {
            get => W.Weights;
            set => W = W with { Weights = value };
        }
    }

    private delegate void Setter(Draft d, string value, string key, string where);

    private const long MaxNs = 1_000_000_000_000;

    private static readonly Dictionary<string, Setter> s_keys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["seed"] = (d, v, k, w) => d.Config = d.Config with { Seed = ULong(v, k, w) },
        ["cpus"] = (d, v, k, w) => d.K = d.K with { Cpus = Int(v, k, w, Limits.MinCpus, Limits.MaxCpus) },
        ["arch"] = (d, v, k, w) => d.K = d.K with { Arch = ArchProfile.Find(v) ?? throw new ConfigException($"{w}: {k} = '{v}' is not an architecture profile ({string.Join(", ", ArchProfile.All.Select(a => a.Name))})") },
        ["nohzFull"] = (d, v, k, w) => d.K = d.K with { NohzFull = Bool(v, k, w) },
        ["kernel.lam"] = (d, v, k, w) => d.K = d.K with { Lam = Bool(v, k, w) },
        ["textPoke.enabled"] = (d, v, k, w) => d.TextOn = Bool(v, k, w),
        ["textPoke.sites"] = (d, v, k, w) => d.Text = d.Text with { Sites = Int(v, k, w, 1, 30) },
        ["textPoke.nmiEveryNs"] = (d, v, k, w) => d.Text = d.Text with { NmiEveryNs = Long(v, k, w, 0, MaxNs) },
        ["textPoke.livenessNs"] = (d, v, k, w) => d.Text = d.Text with { LivenessNs = Long(v, k, w, 1, MaxNs) },
        ["isolation.cpus"] = (d, v, k, w) => d.IsolatedCpus = (v, w),
        ["isolation.defer"] = (d, v, k, w) => d.Defer = Bool(v, k, w),
        ["run.events"] = (d, v, k, w) => d.Config = d.Config with { Events = Long(v, k, w, 1, MaxNs) },
        ["journal.checkpointEveryEvents"] = (d, v, k, w) => d.Config = d.Config with { CheckpointEveryEvents = Long(v, k, w, 0, MaxNs) },
        ["kernel.sliceNsMin"] = (d, v, k, w) => d.T = d.T with { SliceNsMin = Long(v, k, w, 1, MaxNs) },
        ["kernel.sliceNsMax"] = (d, v, k, w) => d.T = d.T with { SliceNsMax = Long(v, k, w, 1, MaxNs) },
        ["kernel.stepNsMin"] = (d, v, k, w) => d.T = d.T with { StepNsMin = Long(v, k, w, 1, MaxNs) },
        ["kernel.stepNsMax"] = (d, v, k, w) => d.T = d.T with { StepNsMax = Long(v, k, w, 1, MaxNs) },
        ["kernel.stallProbability"] = (d, v, k, w) => d.T = d.T with { StallProbability = Probability(v, k, w) },
        ["kernel.windowStallProbability"] = (d, v, k, w) => d.T = d.T with { WindowStallProbability = Probability(v, k, w) },
        ["kernel.stallNsMax"] = (d, v, k, w) => d.T = d.T with { StallNsMax = Long(v, k, w, 1, MaxNs) },
        ["kernel.ipiNsMin"] = (d, v, k, w) => d.T = d.T with { IpiNsMin = Long(v, k, w, 1, MaxNs) },
        ["kernel.ipiNsMax"] = (d, v, k, w) => d.T = d.T with { IpiNsMax = Long(v, k, w, 1, MaxNs) },
        ["kernel.rcuPollNs"] = (d, v, k, w) => d.T = d.T with { RcuPollNs = Long(v, k, w, 1, MaxNs) },
        ["kernel.reschedOnIrqExit"] = (d, v, k, w) => d.T = d.T with { ReschedOnIrqExit = Probability(v, k, w) },
        ["kernel.iretOnSyscallReturn"] = (d, v, k, w) => d.T = d.T with { IretOnSyscallReturn = Probability(v, k, w) },
        ["runtime.strategy"] = (d, v, k, w) => d.Config = d.Config with
        {
            Strategy = v.ToLowerInvariant() is "random" or "pct" ? v.ToLowerInvariant() : throw new ConfigException($"{w}: {k} = '{v}' is not a strategy (random, pct)"),
        },
        ["runtime.pctDepth"] = (d, v, k, w) => d.Config = d.Config with { PctDepth = Int(v, k, w, 1, 100) },
        ["runtime.pctHorizon"] = (d, v, k, w) => d.Config = d.Config with { PctHorizon = Long(v, k, w, 1, MaxNs) },
        // Before sites: one barrier reason (every site of it); still read from older configs and runs.
        ["litmus.omitBarrier"] = (d, v, k, w) => d.Omit.Add((v, $"{w}: {k}")),
        ["litmus.currStoreBufferNs"] = (d, v, k, w) => d.K = d.K with { CurrStoreBufferNs = Long(v, k, w, 0, MaxNs) },
        ["litmus.storeBufferNs"] = (d, v, k, w) =>
        {
            d.Config = d.Config with { StoreBufferNs = Long(v, k, w, 0, MaxNs) };
            d.StoreBufferSet = true;
        },
        ["swarm.enabled"] = (d, v, k, w) => d.SwarmOn = Bool(v, k, w),
        ["swarm.pinned"] = (d, v, k, w) => d.SwarmPinned = v,
        ["memory.weak"] = (d, v, k, w) => d.Config = d.Config with { WeakMemory = Bool(v, k, w) },
        ["workload.processes"] = (d, v, k, w) => d.W = d.W with { Processes = Int(v, k, w, 0, 10_000) },
        ["workload.threadsPerProcess"] = (d, v, k, w) => d.W = d.W with { ThreadsPerProcess = Int(v, k, w, 1, 10_000) },
        ["workload.kthreads"] = (d, v, k, w) => d.W = d.W with { Kthreads = Int(v, k, w, 0, 10_000) },
        ["workload.maxTasks"] = (d, v, k, w) => d.W = d.W with { MaxTasks = Int(v, k, w, 1, Limits.MaxTasks) },
        ["workload.spinNsMin"] = (d, v, k, w) => d.W = d.W with { SpinNsMin = Long(v, k, w, 1, MaxNs) },
        ["workload.spinNsMax"] = (d, v, k, w) => d.W = d.W with { SpinNsMax = Long(v, k, w, 1, MaxNs) },
        ["workload.sleepNsMin"] = (d, v, k, w) => d.W = d.W with { SleepNsMin = Long(v, k, w, 1, MaxNs) },
        ["workload.sleepNsMax"] = (d, v, k, w) => d.W = d.W with { SleepNsMax = Long(v, k, w, 1, MaxNs) },
        ["workload.registerProbability"] = (d, v, k, w) => d.W = d.W with { RegisterProbability = Probability(v, k, w) },
        ["workload.weights.spin"] = (d, v, k, w) => d.Wt = d.Wt with { Spin = Weight(v, k, w) },
        ["workload.weights.sleep"] = (d, v, k, w) => d.Wt = d.Wt with { Sleep = Weight(v, k, w) },
        ["workload.weights.yield"] = (d, v, k, w) => d.Wt = d.Wt with { Yield = Weight(v, k, w) },
        ["workload.weights.membarrier"] = (d, v, k, w) => d.Wt = d.Wt with { Membarrier = Weight(v, k, w) },
        ["workload.weights.mprotect"] = (d, v, k, w) => d.Wt = d.Wt with { Mprotect = Weight(v, k, w) },
        ["workload.weights.munmap"] = (d, v, k, w) => d.Wt = d.Wt with { Munmap = Weight(v, k, w) },
        ["workload.weights.writeCode"] = (d, v, k, w) => d.Wt = d.Wt with { WriteCode = Weight(v, k, w) },
        ["workload.weights.rseq"] = (d, v, k, w) => d.Wt = d.Wt with { Rseq = Weight(v, k, w) },
        ["workload.weights.fork"] = (d, v, k, w) => d.Wt = d.Wt with { Fork = Weight(v, k, w) },
        ["workload.weights.exec"] = (d, v, k, w) => d.Wt = d.Wt with { Exec = Weight(v, k, w) },
        ["workload.weights.exit"] = (d, v, k, w) => d.Wt = d.Wt with { Exit = Weight(v, k, w) },
        ["workload.weights.useMm"] = (d, v, k, w) => d.Wt = d.Wt with { UseMm = Weight(v, k, w) },
        ["workload.weights.lam"] = (d, v, k, w) => d.Wt = d.Wt with { Lam = Weight(v, k, w) },
        ["workload.weights.textPoke"] = (d, v, k, w) => d.Wt = d.Wt with { TextPoke = Weight(v, k, w) },
        ["workload.weights.access"] = (d, v, k, w) =>
        {
            d.Wt = d.Wt with { Access = Weight(v, k, w) };
            d.AccessSet = true;
        },
    };

    /// <summary>Keys whose value is an array ("bugs.0", "faults.3"): each element is collected, then checked in <see cref="Freeze"/>.</summary>
    private static readonly string[] s_arrays = ["bugs", "faults", "omit"];

    public static IEnumerable<string> Keys => s_keys.Keys.Concat(s_arrays);

    public static bool IsKnown(string key) => s_keys.ContainsKey(key) || ArrayOf(key) is not null;

    /// <summary>True for a prefix of a known key ("workload"): a section, not a value.</summary>
    public static bool IsSection(string key) =>
        s_arrays.Contains(key, StringComparer.OrdinalIgnoreCase)
        || s_keys.Keys.Any(k => k.StartsWith(key + ".", StringComparison.OrdinalIgnoreCase));

    public static void Set(Draft draft, string key, string? value, string where)
    {
        if (ArrayOf(key) is string array)
        {
            if (string.IsNullOrWhiteSpace(value)) throw new ConfigException($"{where}: '{key}' has no value");
            (array == "bugs" ? draft.Bugs : array == "faults" ? draft.Faults : draft.Omit).Add((value.Trim(), where));
            draft.Given.Add(array);
            return;
        }
        if (!s_keys.TryGetValue(key, out Setter? setter))
        {
            throw new ConfigException($"{where}: unknown key '{key}' (known keys: {string.Join(", ", Keys)})");
        }
        if (string.IsNullOrWhiteSpace(value)) throw new ConfigException($"{where}: '{key}' has no value");
        setter(draft, value.Trim(), key, where);
        draft.Given.Add(key);
    }

    /// <summary>Cross-key rules, then the immutable config.</summary>
    public static TwinConfig Freeze(Draft d, string where)
    {
        BugSet bugs = BugSet.None;
        foreach ((string bug, string from) in d.Bugs)
        {
            if (!Twin.Kernel.Bugs.TryParse(bug, out BugSet b))
            {
                throw new ConfigException($"{from}: '{bug}' is not a bug switch ({string.Join(", ", Twin.Kernel.Bugs.Names)})");
            }
            bugs |= b;
        }
        SiteSet omit = SiteSet.Empty;
        foreach ((string name, string from) in d.Omit) omit = omit.Union(OmitNames.Parse(name, from));
        d.K = d.K with { Bugs = bugs, Faults = [.. d.Faults.Select(f => FaultSpecs.Parse(f.Value, f.Where))], Omit = omit };
        if (d.TextOn && !d.K.Arch.IsX86) throw new ConfigException($"{where}: textPoke.enabled models x86's text_poke_bp; arch {d.K.Arch.Name} patches text otherwise");
        d.K = d.K with { TextPoke = d.TextOn ? d.Text : null };
        if (d.IsolatedCpus is { } iso)
        {
            CpuMask cpus = CpuList(iso.List, d.K.Cpus, iso.Where);
            d.K = d.K with { Isolation = cpus.IsEmpty ? null : new IsolationConfig(cpus, d.Defer), NohzFull = d.K.NohzFull || !cpus.IsEmpty };
        }
        else if (d.Defer)
        {
            throw new ConfigException($"{where}: isolation.defer needs isolated CPUs (isolation.cpus, e.g. \"2-3\")");
        }
        if (d.Config.WeakMemory)
        {
            // The weak-memory mode: wide store buffers (windows a soak can hit, as kernel.stall* widens
            // race windows), rq->curr and current->mm through the store buffer too, and user
            // accesses in the random workload, unless set otherwise.
            if (!d.StoreBufferSet) d.Config = d.Config with { StoreBufferNs = TwinConfig.WeakStoreBufferNs };
            if (d.K.CurrStoreBufferNs == 0) d.K = d.K with { CurrStoreBufferNs = d.Config.StoreBufferNs };
            if (!d.AccessSet) d.Wt = d.Wt with { Access = StepWeights.WeakMemoryAccess };
        }
        d.Config = d.Config with { Swarm = d.SwarmOn ? SwarmSpec.Parse(d.SwarmPinned) : null };
        TimingConfig t = d.T;
        WorkloadConfig w = d.W;
        Range("kernel.sliceNs", t.SliceNsMin, t.SliceNsMax, where);
        Range("kernel.stepNs", t.StepNsMin, t.StepNsMax, where);
        Range("kernel.ipiNs", t.IpiNsMin, t.IpiNsMax, where);
        Range("workload.spinNs", w.SpinNsMin, w.SpinNsMax, where);
        Range("workload.sleepNs", w.SleepNsMin, w.SleepNsMax, where);
        if (d.K.Tasks is null)
        {
            long tasks = (long)w.Processes * w.ThreadsPerProcess + w.Kthreads;
            if (tasks < 1) throw new ConfigException($"{where}: the workload has no task (workload.processes and workload.kthreads are both 0)");
            if (tasks > w.MaxTasks) throw new ConfigException($"{where}: the workload starts {tasks} tasks, more than workload.maxTasks = {w.MaxTasks}");
        }
        return d.Config;
    }

    /// <summary>"bugs" for "bugs.N", "faults" for "faults.N", else null.</summary>
    private static string? ArrayOf(string key)
    {
        int dot = key.IndexOf('.');
        if (dot <= 0 || !int.TryParse(key.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _)) return null;
        return s_arrays.FirstOrDefault(a => key.AsSpan(0, dot).Equals(a, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A CPU list as the kernel's nohz_full= takes it: "2-3,5"; "" for none.</summary>
    private static CpuMask CpuList(string list, int cpus, string where)
    {
        CpuMask mask = CpuMask.Empty;
        foreach (string part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            string a = dash < 0 ? part : part[..dash], b = dash < 0 ? part : part[(dash + 1)..];
            if (!int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out int first)
                || !int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out int last) || last < first)
            {
                throw new ConfigException($"{where}: isolation.cpus = '{list}': '{part}' is not a CPU or a range A-B");
            }
            if (last >= cpus) throw new ConfigException($"{where}: isolation.cpus = '{list}': CPU {last} does not exist (cpus = {cpus})");
            for (int c = first; c <= last; c++) mask = mask.With(c);
        }
        return mask;
    }

    private static void Range(string name, long min, long max, string where)
    {
        if (max < min) throw new ConfigException($"{where}: {name}Max = {max} is below {name}Min = {min}");
    }

    private static long Long(string v, string key, string where, long min, long max)
    {
        if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
        {
            throw new ConfigException($"{where}: {key} = '{v}' is not an integer");
        }
        if (n < min || n > max) throw new ConfigException($"{where}: {key} = {n} is out of range ({min}..{max})");
        return n;
    }

    private static int Int(string v, string key, string where, int min, int max) => (int)Long(v, key, where, min, max);

    private static int Weight(string v, string key, string where) => Int(v, key, where, 0, 1_000_000);

    private static ulong ULong(string v, string key, string where)
    {
        if (!ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n))
        {
            throw new ConfigException($"{where}: {key} = '{v}' is not an unsigned 64-bit integer");
        }
        return n;
    }

    private static bool Bool(string v, string key, string where) => v.ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ConfigException($"{where}: {key} = '{v}' is not true or false"),
    };

    private static double Probability(string v, string key, string where)
    {
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) || double.IsNaN(p))
        {
            throw new ConfigException($"{where}: {key} = '{v}' is not a number");
        }
        if (p < 0 || p > 1) throw new ConfigException($"{where}: {key} = {p.ToString(CultureInfo.InvariantCulture)} is out of range (0..1)");
        return p;
    }
}
