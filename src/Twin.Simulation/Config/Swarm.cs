using System.Globalization;
using Twin.Actors;
using Twin.Kernel;
using Twin.Kernel.Arch;

namespace Twin.Simulation.Config;

/// <summary>
/// Swarm testing (Groce et al., ISSTA 2012; TigerBeetle's VOPR draws its options the same way):
/// each seed of a soak draws its own configuration from the seed — CPU count, architecture,
/// which features are on (LAM, text_poke, task isolation, weak memory, NMIs), workload weights
/// with some at zero, timing distributions, run length and a mix of benign faults — instead of
/// running one fixed default. The keys the user gave (<see cref="SwarmSpec.Pinned"/>) are kept as
/// given. The draw is its own random stream, so the run's own draws are those of any run with
/// that config: the drawn config is stored as the run's config and replays, re-executes and
/// shrinks like any other (docs/soak.md).
/// </summary>
public static class Swarm
{
    /// <summary>The run config of <paramref name="seed"/>: <paramref name="config"/> with the seed, and, when it swarms, the seed's draw.</summary>
    public static TwinConfig ForSeed(TwinConfig config, ulong seed)
    {
        if (config.Swarm is not { } spec || config.Kernel.Tasks is not null) return config with { Seed = seed, Swarm = null };
        var draw = new Draw(config with { Seed = seed, Swarm = null }, spec, new DeterministicRandom(seed ^ StreamSalt));
        return ConfigLoader.With(config with { Seed = seed, Swarm = null }, draw.Keys(), $"swarm (seed {seed})");
    }

    /// <summary>Keeps the draw's stream apart from the run's own (seeded with the seed itself) and the fault stream's.</summary>
    private const ulong StreamSalt = 0x5A4D_C0DE_5EED_0001UL;

    /// <summary>The benign faults a seed may draw: each costs latency, never a guarantee, on a correct kernel (docs/faults.md).</summary>
    public static readonly string[] BenignFaults = ["ipi-drop", "ipi-delay", "ipi-dup", "ipi-jitter", "irq-storm", "nmi-storm", "hotplug"];

    /// <summary>One seed's draw. Order of draws is fixed (it is part of what a seed means).</summary>
    private sealed class Draw(TwinConfig pinned, SwarmSpec spec, DeterministicRandom r)
    {
        private readonly List<(string Key, string Value)> _keys = [];
        private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

        private bool Free(string key) => !spec.Pins(key);

        private void Put(string key, long value) => _keys.Add((key, value.ToString(Inv)));

        private void Put(string key, double value) => _keys.Add((key, value.ToString("0.####", Inv)));

        private void Put(string key, bool value) => _keys.Add((key, value ? "true" : "false"));

        private void Put(string key, string value) => _keys.Add((key, value));

        /// <summary>Log-uniform in [min, max]: as many short as long values per decade.</summary>
        private long LogUniform(long min, long max) =>
            Math.Clamp((long)Math.Round(Math.Exp(Math.Log(min) + r.NextDouble() * (Math.Log(max) - Math.Log(min)))), min, max);

        private T Pick<T>(params T[] choices) => choices[r.NextInt(choices.Length)];

        public IEnumerable<(string, string)> Keys()
        {
            KernelConfig k = pinned.Kernel;
            ArchProfile arch = Free("arch") ? Pick(ArchProfile.X86_64, ArchProfile.X86_64, ArchProfile.X86_64Pti, ArchProfile.Arm64, ArchProfile.PowerPc, ArchProfile.RiscV) : k.Arch;
            if (Free("arch")) Put("arch", arch.Name);
            int cpus = Free("cpus") && Free("isolation.cpus") ? Pick(1, 2, 2, 3, 3, 4, 4, 6, 8) : k.Cpus;
            if (Free("cpus")) Put("cpus", cpus);
            if (Free("run.events")) Put("run.events", LogUniform(5_000, 500_000));
            DrawFeatures(arch, cpus);
            DrawWorkload(k.Workload);
            DrawTiming();
            if (Free("faults")) DrawFaults(cpus);
            DrawTimingStrategy();
            return _keys;
        }

        private bool _textPoke, _lam;

        private void DrawFeatures(ArchProfile arch, int cpus)
        {
            // x86-only features are drawn on x86 only (ConfigSchema refuses text_poke elsewhere; LAM is an x86 CPU feature).
            _lam = Free("kernel.lam") ? arch.IsX86 && r.Chance(0.4) : pinned.Kernel.Lam;
            if (Free("kernel.lam")) Put("kernel.lam", _lam);
            _textPoke = Free("textPoke.enabled") ? arch.IsX86 && r.Chance(0.4) : pinned.Kernel.TextPoke is not null;
            if (Free("textPoke.enabled")) Put("textPoke.enabled", _textPoke);
            if (_textPoke)
            {
                if (Free("textPoke.sites")) Put("textPoke.sites", r.NextLong(1, 6));
                if (Free("textPoke.nmiEveryNs")) Put("textPoke.nmiEveryNs", r.Chance(0.2) ? 0 : LogUniform(20_000, 500_000));
            }
            // Isolation's deferral is of text_poke's syncs: drawn with text_poke, on the last CPUs, never all of them.
            if (Free("isolation.cpus") && Free("isolation.defer") && Free("nohzFull"))
            {
                if (_textPoke && cpus >= 2 && r.Chance(0.5))
                {
                    int first = (int)r.NextLong(1, cpus - 1);
                    Put("isolation.cpus", first == cpus - 1 ? $"{first}" : $"{first}-{cpus - 1}");
                    Put("isolation.defer", r.Chance(0.75));
                }
                else
                {
                    Put("nohzFull", r.Chance(0.1));
                }
            }
            if (Free("memory.weak"))
            {
                bool weak = r.Chance(0.25);
                Put("memory.weak", weak);
                // What the weak-memory mode sets unless given (ConfigSchema.Freeze), drawn here so a stored draw is complete.
                long buffer = weak ? LogUniform(2_000, 50_000) : pinned.StoreBufferNs;
                if (weak && Free("litmus.storeBufferNs")) Put("litmus.storeBufferNs", buffer);
                if (weak && Free("litmus.currStoreBufferNs")) Put("litmus.currStoreBufferNs", buffer);
                if (weak && Free("workload.weights.access")) Put("workload.weights.access", r.NextLong(5, 60));
            }
        }

        private void DrawWorkload(WorkloadConfig w)
        {
            int processes = Free("workload.processes") ? (int)r.NextLong(1, 5) : w.Processes;
            int threads = Free("workload.threadsPerProcess") ? Pick(1, 1, 2, 3, 4) : w.ThreadsPerProcess;
            int kthreads = Free("workload.kthreads") ? (int)r.NextLong(0, 4) : w.Kthreads;
            int max = Free("workload.maxTasks") ? Math.Max(w.MaxTasks, processes * threads + kthreads) : w.MaxTasks;
            // Never more tasks than the pinned limit (ConfigSchema refuses it): drop drawn threads, then processes.
            while (processes * threads + kthreads > max && Free("workload.threadsPerProcess") && threads > 1) threads--;
            while (processes * threads + kthreads > max && Free("workload.processes") && processes > 1) processes--;
            if (Free("workload.processes")) Put("workload.processes", processes);
            if (Free("workload.threadsPerProcess")) Put("workload.threadsPerProcess", threads);
            if (Free("workload.kthreads")) Put("workload.kthreads", kthreads);
            if (Free("workload.registerProbability")) Put("workload.registerProbability", Math.Round(0.2 + 0.8 * r.NextDouble(), 2));
            StepWeights d = new();
            // Each kind is left out now and then (swarm's omission), else scaled by 1/4..4.
            Weight("spin", d.Spin, 0.1);
            Weight("sleep", d.Sleep, 0.2);
            Weight("yield", d.Yield, 0.3);
            Weight("membarrier", d.Membarrier, 0.15);
            Weight("mprotect", d.Mprotect, 0.3);
            Weight("munmap", d.Munmap, 0.3);
            Weight("writeCode", d.WriteCode, 0.3);
            Weight("rseq", d.Rseq, 0.3);
            Weight("fork", d.Fork, 0.3);
            Weight("exec", d.Exec, 0.3);
            Weight("exit", d.Exit, 0.3);
            Weight("useMm", d.UseMm, 0.25);
            Weight("lam", _lam ? 4 : 0, 0.1);
            Weight("textPoke", _textPoke ? 12 : 0, 0.1);
        }

        private void Weight(string name, int typical, double omit)
        {
            string key = "workload.weights." + name;
            if (!Free(key)) return;
            bool off = typical == 0 || r.Chance(omit);
            Put(key, off ? 0 : Math.Max(1, (long)Math.Round(typical * Math.Pow(2, r.NextLong(-2, 2)))));
        }

        private void DrawTiming()
        {
            if (Free("kernel.stepNsMin") && Free("kernel.stepNsMax"))
            {
                long min = LogUniform(20, 200);
                Put("kernel.stepNsMin", min);
                Put("kernel.stepNsMax", min + LogUniform(100, 2_000));
            }
            // Stalls open race windows (delay bounding): none, moderate, or heavy (a CPU slowed for
            // a stretch, as a preempted vCPU is), which the rarest races need (B17: 4 of 100 runs of
            // 100 000 events with p = 0.25 up to 100 µs, against 1 of 195 runs of 1 M with the default).
            int stalls = r.NextInt(5);
            if (Free("kernel.stallProbability"))
            {
                Put("kernel.stallProbability", stalls == 0 ? 0 : stalls <= 2 ? Math.Round(LogUniform(5, 50) / 1000.0, 3) : Math.Round(LogUniform(100, 300) / 1000.0, 3));
            }
            if (Free("kernel.stallNsMax")) Put("kernel.stallNsMax", stalls <= 2 ? LogUniform(2_000, 50_000) : LogUniform(20_000, 100_000));
            if (Free("kernel.ipiNsMin") && Free("kernel.ipiNsMax"))
            {
                long min = LogUniform(100, 2_000);
                Put("kernel.ipiNsMin", min);
                Put("kernel.ipiNsMax", min + LogUniform(200, 20_000));
            }
            if (Free("kernel.sliceNsMin") && Free("kernel.sliceNsMax"))
            {
                long min = LogUniform(20_000, 1_000_000);
                Put("kernel.sliceNsMin", min);
                Put("kernel.sliceNsMax", min + LogUniform(10_000, 4_000_000));
            }
            if (Free("kernel.reschedOnIrqExit")) Put("kernel.reschedOnIrqExit", Math.Round(r.NextDouble() * 0.6, 2));
            if (Free("kernel.iretOnSyscallReturn")) Put("kernel.iretOnSyscallReturn", r.Chance(0.3) ? 0 : Math.Round(LogUniform(5, 200) / 1000.0, 3));
            if (Free("workload.spinNsMin") && Free("workload.spinNsMax"))
            {
                long min = LogUniform(500, 20_000);
                Put("workload.spinNsMin", min);
                Put("workload.spinNsMax", min + LogUniform(1_000, 400_000));
            }
            if (Free("workload.sleepNsMin") && Free("workload.sleepNsMax"))
            {
                long min = LogUniform(1_000, 100_000);
                Put("workload.sleepNsMin", min);
                Put("workload.sleepNsMax", min + LogUniform(5_000, 2_000_000));
            }
        }

        /// <summary>
        /// The window-biased stall strategy (<see cref="StepTiming"/>) in four seeds of five: a step inside
        /// a window a checker names stalls with probability 0.1-0.9. Drawn last and always, so pinning
        /// it leaves every other key of the seed's draw as it is (how docs/soak.md compares them).
        /// </summary>
        private void DrawTimingStrategy()
        {
            double p = r.Chance(0.8) ? Math.Round(LogUniform(100, 900) / 1000.0, 3) : 0;
            if (Free("kernel.windowStallProbability")) Put("kernel.windowStallProbability", p);
        }

        /// <summary>Each benign fault kind with probability 0.15, most as BUGGIFY points (on in some runs, hammering those).</summary>
        private void DrawFaults(int cpus)
        {
            int n = 0;
            foreach (string kind in BenignFaults)
            {
                if (!r.Chance(0.15)) continue;
                string spec = kind switch
                {
                    "ipi-drop" => $"ipi-drop:p={Prob(0.01, 0.2)},resendNs={LogUniform(20_000, 1_000_000)}",
                    "ipi-delay" => $"ipi-delay:p={Prob(0.05, 0.5)},ns={LogUniform(500, 5_000)}..{LogUniform(5_000, 50_000)}",
                    "ipi-dup" => $"ipi-dup:p={Prob(0.05, 0.5)}",
                    "ipi-jitter" => $"ipi-jitter:ns=0..{LogUniform(500, 20_000)}",
                    "irq-storm" => $"irq-storm:count={LogUniform(20, 2_000)},everyNs={LogUniform(500, 20_000)},atNs={LogUniform(1_000, 5_000_000)}",
                    "nmi-storm" when _textPoke => $"nmi-storm:count={LogUniform(20, 1_000)},everyNs={LogUniform(1_000, 20_000)},atNs={LogUniform(1_000, 5_000_000)}",
                    "hotplug" when cpus >= 2 => r.Chance(0.5)
                        ? $"hotplug:atNs={LogUniform(10_000, 5_000_000)},downNs={LogUniform(10_000, 2_000_000)}"
                        : $"hotplug:on={Pick("membarrier", "shootdown")},downNs={LogUniform(10_000, 2_000_000)},once",
                    _ => "",
                };
                if (spec.Length == 0) continue;
                if (kind.StartsWith("ipi-", StringComparison.Ordinal) && r.Chance(0.5)) spec += ",buggify";
                Put($"faults.{n++}", spec);
            }
        }

        private string Prob(double min, double max) => Math.Round(min + (max - min) * r.NextDouble(), 3).ToString(Inv);
    }
}

/// <summary>
/// A soak that swarms (config <c>swarm.enabled</c>): each seed draws its own config; the keys in
/// <see cref="Pinned"/> (what the user gave: a config file's keys, <c>--set</c>, <c>--arch</c>,
/// <c>--cpus</c>, <c>--events</c>, <c>--weak-memory</c>, <c>--fault</c>) are kept as given.
/// </summary>
public sealed record SwarmSpec(IReadOnlyList<string> Pinned)
{
    /// <summary>True when <paramref name="key"/> was given by the user, or belongs to a given array ("faults" for "faults.3").</summary>
    public bool Pins(string key)
    {
        foreach (string p in Pinned)
        {
            if (p.Equals(key, StringComparison.OrdinalIgnoreCase)) return true;
            if (key.StartsWith(p + ".", StringComparison.OrdinalIgnoreCase)) return true;
            // An array given element by element ("faults.0") pins the array.
            if (p.StartsWith(key + ".", StringComparison.OrdinalIgnoreCase) && key is "faults" or "bugs" or "omit") return true;
        }
        return false;
    }

    /// <summary>The pinned keys as stored: sorted, comma-separated.</summary>
    public string PinnedList => string.Join(",", Pinned.Order(StringComparer.Ordinal));

    public static SwarmSpec Parse(string list) =>
        new([.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.OrdinalIgnoreCase)]);
}
