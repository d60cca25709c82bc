using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace Twin.Simulation.Config;

/// <summary>
/// Builds the effective config: built-in defaults, then an optional JSON file (comments allowed),
/// then command-line overrides (<c>--set key=value</c> and the dedicated flags). Every value is
/// checked against <see cref="ConfigSchema"/>; errors name the key and the file or flag.
/// </summary>
public static class ConfigLoader
{
    /// <param name="file">JSON file, or null for defaults only.</param>
    /// <param name="overrides">(key, value, source) from the command line, applied last.</param>
    public static TwinConfig Load(string? file, IEnumerable<(string Key, string Value, string Source)> overrides)
    {
        var draft = new ConfigSchema.Draft();
        if (file is not null) ApplyJson(draft, file, LoadFile(file));
        foreach ((string key, string value, string source) in overrides)
        {
            ConfigSchema.Set(draft, key, value, source);
        }
        return ConfigSchema.Freeze(draft, file is null ? "config" : $"config '{file}'");
    }

    /// <summary>Parses the canonical JSON stored with a run (see <see cref="ToJson"/>).</summary>
    public static TwinConfig FromRunJson(string json, string where)
    {
        var draft = new ConfigSchema.Draft();
        IConfigurationRoot root;
        try
        {
            root = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or JsonException)
        {
            throw new ConfigException($"{where}: the stored config is not valid JSON ({Inner(e)})", e);
        }
        ApplyJson(draft, where, root);
        return ConfigSchema.Freeze(draft, where);
    }

    /// <summary>The effective config as canonical JSON: every key, fixed order, invariant numbers.</summary>
    public static string ToJson(TwinConfig c)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("seed", c.Seed);
            w.WriteNumber("cpus", c.Kernel.Cpus);
            w.WriteStartObject("run");
            w.WriteNumber("events", c.Events);
            w.WriteEndObject();
            w.WriteStartObject("journal");
            w.WriteNumber("checkpointEveryEvents", c.CheckpointEveryEvents);
            w.WriteEndObject();
            Kernel.WorkloadConfig wl = c.Kernel.Workload;
            w.WriteStartObject("workload");
            w.WriteNumber("processes", wl.Processes);
            w.WriteNumber("threadsPerProcess", wl.ThreadsPerProcess);
            w.WriteNumber("kthreads", wl.Kthreads);
            w.WriteNumber("runNsMin", wl.RunNsMin);
            w.WriteNumber("runNsMax", wl.RunNsMax);
            w.WriteNumber("sleepNsMin", wl.SleepNsMin);
            w.WriteNumber("sleepNsMax", wl.SleepNsMax);
            w.WriteNumber("sleepProbability", wl.SleepProbability);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
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
            bool isObject = pair.Value is null && (HasChildren(root, pair.Key) || ConfigSchema.IsSection(key));
            if (isObject) continue; // its leaves come as their own pairs
            if (ConfigSchema.IsSection(key)) throw new ConfigException($"{source}: '{key}' must be an object of keys, not a value");
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

    /// <summary>Parses a <c>--set key=value</c> argument.</summary>
    public static (string Key, string Value) ParseAssignment(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0) throw new ConfigException($"--set '{text}': expected key=value, e.g. --set workload.processes=4");
        return (text[..eq].Trim(), text[(eq + 1)..].Trim());
    }

}
