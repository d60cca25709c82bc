using System.Globalization;
using Twin.Kernel;

namespace Twin.Simulation.Config;

/// <summary>
/// The known config keys, their types and ranges. A key not listed here is an error, so a typo
/// never silently falls back to a default. Paths use '.' as users write them in docs and
/// messages; Microsoft.Extensions.Configuration's ':' is translated.
/// </summary>
internal static class ConfigSchema
{
    /// <summary>Mutable draft filled key by key, then frozen into <see cref="TwinConfig"/>.</summary>
    internal sealed class Draft
    {
        public ulong Seed = 1;
        public long Events = 1_000_000;
        public long CheckpointEveryEvents = 100_000;
        public int Cpus = 4;
        public int Processes = 3;
        public int ThreadsPerProcess = 3;
        public int Kthreads = 2;
        public long RunNsMin = 20_000;
        public long RunNsMax = 2_000_000;
        public long SleepNsMin = 10_000;
        public long SleepNsMax = 1_000_000;
        public double SleepProbability = 0.4;
    }

    private delegate void Setter(Draft d, string value, string key, string where);

    private static readonly Dictionary<string, Setter> s_keys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["seed"] = (d, v, k, w) => d.Seed = ULong(v, k, w),
        ["cpus"] = (d, v, k, w) => d.Cpus = (int)Long(v, k, w, Limits.MinCpus, Limits.MaxCpus),
        ["run.events"] = (d, v, k, w) => d.Events = Long(v, k, w, 1, 1_000_000_000_000),
        ["journal.checkpointEveryEvents"] = (d, v, k, w) => d.CheckpointEveryEvents = Long(v, k, w, 0, 1_000_000_000_000),
        ["workload.processes"] = (d, v, k, w) => d.Processes = (int)Long(v, k, w, 0, 10_000),
        ["workload.threadsPerProcess"] = (d, v, k, w) => d.ThreadsPerProcess = (int)Long(v, k, w, 1, 10_000),
        ["workload.kthreads"] = (d, v, k, w) => d.Kthreads = (int)Long(v, k, w, 0, 10_000),
        ["workload.runNsMin"] = (d, v, k, w) => d.RunNsMin = Long(v, k, w, 1, 1_000_000_000_000),
        ["workload.runNsMax"] = (d, v, k, w) => d.RunNsMax = Long(v, k, w, 1, 1_000_000_000_000),
        ["workload.sleepNsMin"] = (d, v, k, w) => d.SleepNsMin = Long(v, k, w, 1, 1_000_000_000_000),
        ["workload.sleepNsMax"] = (d, v, k, w) => d.SleepNsMax = Long(v, k, w, 1, 1_000_000_000_000),
        ["workload.sleepProbability"] = (d, v, k, w) => d.SleepProbability = Probability(v, k, w),
    };

    public static IEnumerable<string> Keys => s_keys.Keys;

    public static bool IsKnown(string key) => s_keys.ContainsKey(key);

    /// <summary>True for a prefix of a known key ("workload"): a section, not a value.</summary>
    public static bool IsSection(string key) =>
        s_keys.Keys.Any(k => k.StartsWith(key + ".", StringComparison.OrdinalIgnoreCase));

    public static void Set(Draft draft, string key, string? value, string where)
    {
        if (!s_keys.TryGetValue(key, out Setter? setter))
        {
            throw new ConfigException($"{where}: unknown key '{key}' (known keys: {string.Join(", ", s_keys.Keys)})");
        }
        if (string.IsNullOrWhiteSpace(value)) throw new ConfigException($"{where}: '{key}' has no value");
        setter(draft, value.Trim(), key, where);
    }

    /// <summary>Cross-key rules, then the immutable config.</summary>
    public static TwinConfig Freeze(Draft d, string where)
    {
        if (d.RunNsMax < d.RunNsMin) throw new ConfigException($"{where}: workload.runNsMax = {d.RunNsMax} is below workload.runNsMin = {d.RunNsMin}");
        if (d.SleepNsMax < d.SleepNsMin) throw new ConfigException($"{where}: workload.sleepNsMax = {d.SleepNsMax} is below workload.sleepNsMin = {d.SleepNsMin}");
        long tasks = (long)d.Processes * d.ThreadsPerProcess + d.Kthreads;
        if (tasks < 1) throw new ConfigException($"{where}: the workload has no task (workload.processes and workload.kthreads are both 0)");
        if (tasks > Limits.MaxTasks) throw new ConfigException($"{where}: the workload has {tasks} tasks, more than {Limits.MaxTasks}");
        return new TwinConfig
        {
            Seed = d.Seed,
            Events = d.Events,
            CheckpointEveryEvents = d.CheckpointEveryEvents,
            Kernel = new KernelConfig
            {
                Cpus = d.Cpus,
                Workload = new WorkloadConfig
                {
                    Processes = d.Processes,
                    ThreadsPerProcess = d.ThreadsPerProcess,
                    Kthreads = d.Kthreads,
                    RunNsMin = d.RunNsMin,
                    RunNsMax = d.RunNsMax,
                    SleepNsMin = d.SleepNsMin,
                    SleepNsMax = d.SleepNsMax,
                    SleepProbability = d.SleepProbability,
                },
            },
        };
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

    private static ulong ULong(string v, string key, string where)
    {
        if (!ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n))
        {
            throw new ConfigException($"{where}: {key} = '{v}' is not an unsigned 64-bit integer");
        }
        return n;
    }

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
