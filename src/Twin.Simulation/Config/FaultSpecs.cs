using System.Globalization;
using Twin.Kernel.Events;
using Twin.Kernel.Faults;
using Twin.Kernel.Sites;

namespace Twin.Simulation.Config;

/// <summary>
/// Parses fault specs, <c>KIND[:KEY=VALUE,...,FLAG]</c>, as written after <c>--fault</c>, in a
/// config's <c>faults</c> array or a scenario's. Every kind and key is in docs/faults.md; an unknown
/// one is an error naming the spec and where it came from.
/// </summary>
public static class FaultSpecs
{
    public static readonly string[] Kinds = ["ipi-drop", "ipi-delay", "ipi-dup", "ipi-jitter", "irq-storm", "nmi-storm", "skip-barrier", "skip-serialize", "hotplug"];

    public static FaultRule Parse(string spec, string where)
    {
        string text = spec.Trim();
        int colon = text.IndexOf(':');
        string kind = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        var args = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (colon >= 0)
        {
            foreach (string part in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int eq = part.IndexOf('=');
                string key = eq < 0 ? part : part[..eq].Trim();
                if (!args.TryAdd(key, eq < 0 ? null : part[(eq + 1)..].Trim())) throw Bad(where, spec, $"'{key}' is given twice");
            }
        }
        var p = new Reader(args, where, spec);
        FaultRule rule = kind switch
        {
            "ipi-drop" => Ipi(FaultKind.IpiDrop, p, 1_000_000, 1_000_000),
            "ipi-delay" => Ipi(FaultKind.IpiDelay, p, 1_000, 20_000),
            "ipi-dup" => Ipi(FaultKind.IpiDuplicate, p, 100, 2_000),
            "ipi-jitter" => Ipi(FaultKind.IpiDelay, p, 0, 5_000),
            "irq-storm" => Storm(p, FaultKind.IrqStorm),
            "nmi-storm" => Storm(p, FaultKind.NmiStorm),
            "skip-barrier" => Skip(FaultKind.SkipBarrier, SiteKind.Barrier, p, where, text, () => (int)p.Enum<BarrierReason>("reason")),
            "skip-serialize" => Skip(FaultKind.SkipSerialize, SiteKind.Serialize, p, where, text, () => (int)p.Enum<CoreSerializeReason>("reason")),
            "hotplug" => Hotplug(p, where, text),
            _ => throw Bad(where, spec, $"unknown fault kind '{kind}' (known: {string.Join(", ", Kinds)})"),
        };
        rule = rule with
        {
            Probability = p.Probability("p", 1),
            Once = p.Flag("once"),
            Buggify = p.Has("buggify") ? p.Probability("buggify", 0.25, bareAllowed: true) : 0,
        };
        p.RefuseUnused();
        return rule;
    }

    private static FaultRule Ipi(FaultKind kind, Reader p, long defaultMin, long defaultMax)
    {
        (long min, long max) = p.Ns(kind == FaultKind.IpiDrop ? "resendNs" : "ns", defaultMin, defaultMax);
        return new FaultRule(kind, p.Spec) { Ipi = p.IpiKind("ipi"), Cpu = p.Int("cpu", -1, 0, 255), NsMin = min, NsMax = max };
    }

    /// <summary>skip-barrier / skip-serialize: every site of a reason (<c>reason=</c>), or one site (<c>site=</c>, see SiteCatalog).</summary>
    private static FaultRule Skip(FaultKind kind, SiteKind siteKind, Reader p, string where, string spec, Func<int> reason)
    {
        var rule = new FaultRule(kind, p.Spec) { Cpu = p.Int("cpu", -1, 0, 255) };
        if (!p.Has("site")) return rule with { Reason = reason() };
        if (p.Has("reason")) throw Bad(where, spec, "give reason or site, not both");
        string name = p.Text("site");
        SiteInfo site = SiteCatalog.Find(name) is { } s && s.Kind == siteKind ? s
            : throw Bad(where, spec, $"site = '{name}' is not a {(siteKind == SiteKind.Barrier ? "barrier" : "core-serializing")} site ({string.Join(", ", SiteCatalog.All.Where(x => x.Kind == siteKind).Select(x => x.Name))})");
        return rule with { Site = site.Site, Reason = site.Reason };
    }

    private static FaultRule Storm(Reader p, FaultKind kind)
    {
        (long every, long everyMax) = p.Ns("everyNs", 2_000, 2_000);
        return new FaultRule(kind, p.Spec)
        {
            Cpu = p.Int("cpu", -1, 0, 255),
            AtNs = p.Ns("atNs", 0, 0).Min,
            Count = p.Int("count", 100, 1, 1_000_000),
            NsMin = every,
            NsMax = everyMax,
        };
    }

    /// <summary>hotplug:cpu=2,atNs=50000,downNs=100000, or on=membarrier|shootdown instead of atNs.</summary>
    private static FaultRule Hotplug(Reader p, string where, string spec)
    {
        string? on = p.Has("on") ? p.Text("on") : null;
        HotplugTrigger trigger = on?.ToLowerInvariant() switch
        {
            null => HotplugTrigger.None,
            "membarrier" => HotplugTrigger.Membarrier,
            "shootdown" => HotplugTrigger.Shootdown,
            _ => throw Bad(where, spec, $"on = '{on}' is not a trigger (membarrier, shootdown)"),
        };
        if (trigger != HotplugTrigger.None && p.Has("atNs")) throw Bad(where, spec, "give atNs or on, not both");
        (long down, long downMax) = p.Ns("downNs", 100_000, 100_000);
        return new FaultRule(FaultKind.Hotplug, p.Spec)
        {
            Cpu = p.Int("cpu", -1, 0, 255),
            On = trigger,
            AtNs = p.Ns("atNs", 50_000, 50_000).Min,
            NsMin = down,
            NsMax = downMax,
        };
    }

    private static ConfigException Bad(string where, string spec, string what) => new($"{where}: fault '{spec.Trim()}': {what}");

    /// <summary>Reads the spec's keys, remembering which were used so the rest can be refused.</summary>
    private sealed class Reader(Dictionary<string, string?> args, string where, string spec)
    {
        private readonly HashSet<string> _used = new(StringComparer.OrdinalIgnoreCase);

        public string Spec => spec.Trim();

        public bool Has(string key) => args.ContainsKey(key);

        public bool Flag(string key)
        {
            if (!args.TryGetValue(key, out string? v)) return false;
            _used.Add(key);
            if (v is not null) throw Bad(where, spec, $"'{key}' is a flag and takes no value");
            return true;
        }

        public int Int(string key, int fallback, int min, int max)
        {
            string? v = Value(key);
            if (v is null) return fallback;
            if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
            {
                throw Bad(where, spec, $"{key} = '{v}' is not an integer in {min}..{max}");
            }
            return n;
        }

        /// <param name="bareAllowed">The key may be given without a value (<c>buggify</c>): then it is <paramref name="fallback"/>.</param>
        public double Probability(string key, double fallback, bool bareAllowed = false)
        {
            if (bareAllowed && args.TryGetValue(key, out string? bare) && bare is null)
            {
                _used.Add(key);
                return fallback;
            }
            string? v = Value(key);
            if (v is null) return fallback;
            if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || d is < 0 or > 1 || double.IsNaN(d))
            {
                throw Bad(where, spec, $"{key} = '{v}' is not a probability (0..1)");
            }
            return d;
        }

        /// <summary>A time in ns, or a range A..B.</summary>
        public (long Min, long Max) Ns(string key, long min, long max)
        {
            string? v = Value(key);
            if (v is null) return (min, max);
            string[] parts = v.Split("..");
            if (parts.Length is 1 or 2
                && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long a)
                && (parts.Length == 1 || long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out max)))
            {
                if (parts.Length == 1) max = a;
                if (max >= a && max <= 1_000_000_000_000) return (a, max);
            }
            throw Bad(where, spec, $"{key} = '{v}' is not a time in ns or a range A..B (A <= B)");
        }

        public IpiKind? IpiKind(string key)
        {
            string? v = Value(key);
            if (v is null || v.Equals("any", StringComparison.OrdinalIgnoreCase)) return null;
            string name = v.StartsWith("ipi_", StringComparison.OrdinalIgnoreCase) ? v[4..] : v;
            name = name.Replace("_", "", StringComparison.Ordinal);
            if (name.Equals("flushtlbfunc", StringComparison.OrdinalIgnoreCase)) name = "flushtlb";
            if (name.Equals("enablelamfunc", StringComparison.OrdinalIgnoreCase)) name = "enablelam";
            if (name.Equals("dosynccore", StringComparison.OrdinalIgnoreCase)) name = "textpokesync";
            if (System.Enum.TryParse(name, ignoreCase: true, out Kernel.Events.IpiKind k) && System.Enum.IsDefined(k)) return k;
            throw Bad(where, spec, $"ipi = '{v}' is not an IPI kind (any, mb, sync_core, rseq, sync_rq_state, flush_tlb, enable_lam, text_poke_sync)");
        }

        public T Enum<T>(string key) where T : struct, System.Enum
        {
            string? v = Value(key) ?? throw Bad(where, spec, $"'{key}' is required ({string.Join(", ", System.Enum.GetNames<T>())})");
            if (System.Enum.TryParse(v, ignoreCase: true, out T r) && System.Enum.IsDefined(r)) return r;
            throw Bad(where, spec, $"{key} = '{v}' is not one of {string.Join(", ", System.Enum.GetNames<T>())}");
        }

        public void RefuseUnused()
        {
            string? extra = args.Keys.FirstOrDefault(k => !_used.Contains(k));
            if (extra is not null) throw Bad(where, spec, $"unknown key '{extra}' for this kind");
        }

        public string Text(string key) => Value(key) ?? throw Bad(where, spec, $"'{key}' needs a value");

        private string? Value(string key)
        {
            if (!args.TryGetValue(key, out string? v)) return null;
            _used.Add(key);
            if (string.IsNullOrEmpty(v)) throw Bad(where, spec, $"'{key}' needs a value");
            return v;
        }
    }
}
