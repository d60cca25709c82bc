using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Twin.Traces.Record;

/// <summary>Recording is not possible here (no tracefs, not root, a file that cannot be written); the message says what to do.</summary>
public sealed class RecordException(string message) : Exception(message);

/// <summary>What a recording produced.</summary>
public sealed record RecordResult(string TracePath, string TasksPath, int ExitCode, long Lines, IReadOnlyList<string> MissingEvents);

/// <summary>
/// <c>twin record</c>: records a command's run through tracefs with the events the importer and
/// the checkers use, then writes the trace with a header (kernel, CPUs, command) and a
/// <c>.tasks</c> side file (<c>pid tgid kthread comm</c> of the tasks alive at the end, from /proc).
/// It records in a tracefs instance of its own (<c>instances/twin-PID</c>: its own ring buffers,
/// event switches and <c>options/record-tgid</c>), removed afterwards, so it neither disturbs nor
/// is disturbed by other users of the top-level buffer (another recording, trace-cmd, perf's
/// ftrace). A tracefs without instances is refused with that reason.
/// </summary>
public sealed class TraceRecorder(string tracefs = "/sys/kernel/tracing")
{
    /// <summary>The events of replays/ftrace's recordings (kernel-model §2, trace-formats §2–3).</summary>
    public static readonly string[] Events =
    [
        "sched/sched_switch", "sched/sched_wakeup", "sched/sched_wakeup_new", "sched/sched_migrate_task",
        "sched/sched_process_fork", "sched/sched_process_exec", "sched/sched_process_exit",
        "tlb/tlb_flush", "ipi/ipi_send_cpu", "ipi/ipi_send_cpumask",
        "csd/csd_queue_cpu", "csd/csd_function_entry", "csd/csd_function_exit",
        "irq_vectors/call_function_entry", "irq_vectors/call_function_exit",
        "irq_vectors/call_function_single_entry", "irq_vectors/call_function_single_exit", "irq_vectors/reschedule_entry",
        "syscalls/sys_enter_membarrier", "syscalls/sys_exit_membarrier",
    ];

    /// <summary>The instance a recording by this process uses, under tracefs.</summary>
    public static string InstanceName => $"twin-{Environment.ProcessId}";

    public RecordResult Record(IReadOnlyList<string> command, string output, int bufferKbPerCpu)
    {
        if (command.Count == 0) throw new RecordException("give the command to record after --, e.g. twin record -o run.trace -- ./workload 3");
        if (!File.Exists(Path.Combine(tracefs, "trace")))
        {
            throw new RecordException($"tracefs is not available at {tracefs}: as root, mount it with 'mount -t tracefs nodev {tracefs}' (tracing needs root)");
        }
        string instance = CreateInstance();
        var missing = new List<string>();
        // Ctrl-C reaches the recorded command too (one process group): it ends, and what it did is still written and the instance removed.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        try
        {
            // A new instance records at once: off until every event is on, so the trace does not begin
            // with half the event set (enabling a tracepoint patches kernel text, whose do_sync_core IPIs
            // were traced without the interrupt lines enabled after them).
            Write(instance, "tracing_on", "0");
            Write(instance, "buffer_size_kb", bufferKbPerCpu.ToString(CultureInfo.InvariantCulture));
            Write(instance, "options/record-tgid", "1");
            foreach (string e in Events)
            {
                string enable = Path.Combine("events", e, "enable");
                if (File.Exists(Path.Combine(instance, enable))) Write(instance, enable, "1");
                else missing.Add(e);
            }
            Write(instance, "trace", ""); // opened with O_TRUNC: the buffers are cleared
            Write(instance, "tracing_on", "1");
            int exitCode = Run(command);
            Write(instance, "tracing_on", "0");
            string tasks = output + ".tasks";
            long lines = WriteTrace(Path.Combine(instance, "trace"), output, command);
            WriteTasks(tasks);
            return new RecordResult(output, tasks, exitCode, lines, missing);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new RecordException($"tracefs at {tracefs} cannot be written ({e.Message}): tracing needs root");
        }
        finally
        {
            RemoveInstance(instance);
        }
    }

    /// <summary>mkdir in tracefs's instances/ makes a new trace array with its own buffers, all events off.</summary>
    private string CreateInstance()
    {
        string instances = Path.Combine(tracefs, "instances");
        if (!Directory.Exists(instances)) throw new RecordException($"tracefs at {tracefs} has no instances/ directory (a kernel before 3.10?): twin record needs a tracefs instance of its own");
        string dir = Path.Combine(instances, InstanceName);
        try
        {
            if (Directory.Exists(dir)) RemoveInstance(dir); // left by an earlier process with this pid
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RecordException($"cannot create the tracefs instance {dir} ({e.Message}): tracing needs root");
        }
        return dir;
    }

    /// <summary>rmdir frees the instance's buffers and turns its events off; best effort, so it never hides the error that got us here.</summary>
    private static void RemoveInstance(string dir)
    {
        try
        {
            File.WriteAllText(Path.Combine(dir, "tracing_on"), "0");
            Directory.Delete(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The instance stays; the next recording by a process with this pid removes it.
        }
    }

    private static int Run(IReadOnlyList<string> command)
    {
        var psi = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (string a in command.Skip(1)) psi.ArgumentList.Add(a);
        try
        {
            using Process p = Process.Start(psi) ?? throw new RecordException($"cannot start '{command[0]}'");
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RecordException($"cannot start '{command[0]}': {e.Message}");
        }
    }

    private static long WriteTrace(string trace, string output, IReadOnlyList<string> command)
    {
        long lines = 0;
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
            if (dir is not null) Directory.CreateDirectory(dir);
            using var writer = new StreamWriter(output, append: false, new UTF8Encoding(false));
            writer.WriteLine($"# twin record: kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}, cpus={Environment.ProcessorCount}, " +
                $"recorded {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, command: {string.Join(' ', command)}");
            foreach (string line in File.ReadLines(trace))
            {
                writer.WriteLine(line);
                lines++;
            }
        }
        catch (IOException e)
        {
            throw new RecordException($"cannot write '{output}': {e.Message}");
        }
        return lines;
    }

    /// <summary>pid tgid kthread comm for every task in /proc (kthread: PF_KTHREAD, 0x00200000, in /proc/PID/stat's flags).</summary>
    private static void WriteTasks(string path)
    {
        var sb = new StringBuilder("# pid tgid kthread comm\n");
        foreach (string procDir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(procDir), out _)) continue;
            string taskRoot = Path.Combine(procDir, "task");
            if (!Directory.Exists(taskRoot)) continue;
            try
            {
                foreach (string taskDir in Directory.EnumerateDirectories(taskRoot))
                {
                    string stat = File.ReadAllText(Path.Combine(taskDir, "stat"));
                    int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
                    string comm = stat[(open + 1)..close];
                    string[] rest = stat[(close + 2)..].Split(' ');
                    ulong flags = ulong.Parse(rest[6], CultureInfo.InvariantCulture);
                    string pid = Path.GetFileName(taskDir);
                    sb.Append(CultureInfo.InvariantCulture, $"{pid} {Path.GetFileName(procDir)} {((flags & 0x00200000) != 0 ? 1 : 0)} {comm}\n");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The task exited while we read it.
            }
        }
        File.WriteAllText(path, sb.ToString());
    }

    private static void Write(string instance, string file, string value) => File.WriteAllText(Path.Combine(instance, file), value);
}
