using System.Globalization;
using Akka.Actor;
using Twin.Actors.Persistence;
using Twin.Actors.Runtime;
using Twin.Kernel;
using Twin.Kernel.Tasks;
using Twin.Persistence.Codec;

namespace Twin.Kernel.Tests;

/// <summary>Records every persisted event, for exact expectations (TigerBeetle-style scenario tests).</summary>
public sealed class EventLog : EventTap
{
    public List<(long TimeNs, string Stream, object Event)> Entries { get; } = [];

    public IEnumerable<object> Events => Entries.Select(e => e.Event);

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt) => Entries.Add((meta.TimestampNs, meta.Stream, evt));

    /// <summary>The events of CPU <paramref name="cpu"/>'s stream (and of mm/machine streams when asked), as "Event { ... }" lines.</summary>
    public List<string> Lines(Func<object, bool>? keep = null, string? stream = null) =>
        [.. Entries.Where(e => (stream is null || e.Stream == stream) && (keep is null || keep(e.Event))).Select(e => e.Event.ToString()!)];

    /// <summary>The events of CPU <paramref name="cpu"/> and of its runqueue, in run order: what the CPU's own kernel code did.</summary>
    public List<string> CpuLines(int cpu, Func<object, bool>? keep = null)
    {
        string c = $"cpu-{cpu}", rq = $"rq-{cpu}";
        return [.. Entries.Where(e => (e.Stream == c || e.Stream == rq) && (keep is null || keep(e.Event))).Select(e => e.Event.ToString()!)];
    }

    public List<string> TimedLines(Func<object, bool>? keep = null) =>
        [.. Entries.Where(e => keep is null || keep(e.Event)).Select(e => $"{e.TimeNs.ToString(CultureInfo.InvariantCulture)} {e.Event}")];

    /// <summary>Boots a machine on a run loop and runs it until it goes quiet or virtual <paramref name="untilNs"/>; the system is shut down after.</summary>
    public static (EventLog Log, KernelModel Kernel, RunLoop Loop) Run(KernelConfig config, long untilNs = long.MaxValue, ulong seed = 1, params EventTap[] taps)
    {
        ActorSystem system = SimulationSystem.Create(SimulationHocon.For(seed));
        try
        {
            RunLoop loop = RunLoop.Of(system);
            var log = new EventLog();
            loop.Persistence.Taps.Add(log);
            loop.Persistence.Taps.AddRange(taps);
            KernelModel kernel = KernelModel.Boot(system, config);
            loop.Run(untilNs: untilNs);
            return (log, kernel, loop);
        }
        finally
        {
            SimulationSystem.Shutdown(system);
        }
    }
}

/// <summary>Exact journal expectations whose failure shows the whole journal, line by line, with the first difference marked.</summary>
public static class Journal
{
    public static void Expect(IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        int first = 0;
        while (first < expected.Count && first < actual.Count && expected[first] == actual[first]) first++;
        if (first == expected.Count && first == actual.Count) return;
        var text = new System.Text.StringBuilder();
        text.AppendLine($"journals differ at line {first} (expected {expected.Count} lines, got {actual.Count}); actual:");
        for (int i = 0; i < actual.Count; i++) text.AppendLine($"{(i == first ? ">>" : "  ")} \"{actual[i]}\",");
        if (first < expected.Count) text.AppendLine($"expected at line {first}: \"{expected[first]}\"");
        Assert.Fail(text.ToString());
    }
}
