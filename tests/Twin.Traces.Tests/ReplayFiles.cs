using Twin.Checking;
using Twin.Traces.Ftrace;
using Twin.Traces.Replay;

namespace Twin.Traces.Tests;

/// <summary>The real recordings committed under replays/.</summary>
public static class ReplayFiles
{
    public static string Root
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir, "Twin.sln"))) dir = System.IO.Path.GetDirectoryName(dir);
            return System.IO.Path.Combine(dir!, "replays");
        }
    }

    /// <summary>
    /// Recordings that show a kernel bug, with the property it breaks: every other one checks clean.
    /// b21-exit-global: GLOBAL_EXPEDITED skipping a CPU whose rq->membarrier_state exit_mm() cleared
    /// (docs/bugs/B21.md), on this machine's 6.18.44.
    /// </summary>
    public static IReadOnlyDictionary<string, string> KernelBugs { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ftrace/b21-exit-global.trace"] = "P-GE",
    };

    /// <summary>A recording in replays/ftrace, or, with a folder ("trace-cmd/mb-3t.report"), anywhere under replays/.</summary>
    public static string Path(string name) => System.IO.Path.Combine(Root, name.Contains('/') ? "" : "ftrace", name);

    /// <summary>A trace checker that knows the recording's tasks from its <c>.tasks</c> side file, when it has one.</summary>
    public static TraceChecker CheckerFor(string path)
    {
        if (!File.Exists(path + ".tasks")) return new TraceChecker();
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TraceChecker.ReadTasksFile(path + ".tasks");
        var checker = new TraceChecker(kthreads);
        checker.LearnTgids(tgids);
        return checker;
    }

    /// <summary>Every trace text under replays/ (the side files, workload sources and notes left out), as "folder/name".</summary>
    public static IEnumerable<string> All() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(Root, f).Replace('\\', '/'))
            .Where(f => f.Contains('/') && !f.EndsWith(".tasks", StringComparison.Ordinal) && !f.EndsWith(".c", StringComparison.Ordinal) && !f.EndsWith(".sh", StringComparison.Ordinal)
                && !f.EndsWith(".md", StringComparison.Ordinal) && !f.EndsWith(".dat", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    /// <summary>Every property decided on a recording (with its side file), as read after <paramref name="mutate"/> changed its lines.</summary>
    public static SortedDictionary<string, PropertyTally> Checked(string name, Func<List<string>, List<string>>? mutate = null)
    {
        string path = Path(name);
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TraceCheck.TasksOf(path);
        var check = new TraceCheck(tgids, kthreads);
        List<string> lines = [.. File.ReadAllLines(path)];
        if (mutate is not null) lines = mutate(lines);
        ReadReport report = FtraceReader.Read(new StringReader(string.Join('\n', lines)), name, check);
        check.Finish();
        Assert.Equal(0, report.Unparsed);
        return check.Properties();
    }
}
