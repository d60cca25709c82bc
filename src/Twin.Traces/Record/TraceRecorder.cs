using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Twin.Traces.Record;

/// <summary>Recording is not possible here (no tracefs, not root, a file that cannot be written); the message says what to do.</summary>
public sealed class RecordException(string message) : Exception(message);

/// <summary>What a recording produced.</summary>
public sealed record RecordResult(string TracePath, string TasksPath, int ExitCode, long Lines, IReadOnlyList<string> MissingEvents);

/// <summary>
/// <c>twin record</c>: records a command's run through tracefs with the events the importer and
/// the checkers use, <c>options/record-tgid</c> on, then writes the trace with a header (kernel,
/// CPUs, command) and a <c>.tasks</c> side file (<c>pid tgid kthread comm</c> of the tasks alive at
/// the end, from /proc). Restores the tracing settings it changed.
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

    public RecordResult Record(IReadOnlyList<string> command, string output, int bufferKbPerCpu)
    {
        if (command.Count == 0) throw new RecordException("give the command to record after --, e.g. twin record -o run.trace -- ./workload 3");
        if (!File.Exists(Path.Combine(tracefs, "trace")))
        {
            throw new RecordException($"tracefs is not available at {tracefs}: as root, mount it with 'mount -t tracefs nodev {tracefs}' (tracing needs root)");
        }
        var missing = new List<string>();
        var enabled = new List<string>();
        string previousTgid = Read("options/record-tgid");
        string previousBuffer = Read("buffer_size_kb");
        int exitCode;
        try
        {
            Write("tracing_on", "0");
            Write("buffer_size_kb", bufferKbPerCpu.ToString(CultureInfo.InvariantCulture));
            Write("options/record-tgid", "1");
            foreach (string e in Events)
            {
                string enable = Path.Combine("events", e, "enable");
                if (!File.Exists(Path.Combine(tracefs, enable)))
                {
                    missing.Add(e);
                    continue;
                }
                Write(enable, "1");
                enabled.Add(enable);
            }
            ClearBuffer();
            Write("tracing_on", "1");
            exitCode = Run(command);
            Write("tracing_on", "0");
            string tasks = output + ".tasks";
            long lines = WriteTrace(output, command);
            WriteTasks(tasks);
            return new RecordResult(output, tasks, exitCode, lines, missing);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new RecordException($"tracefs at {tracefs} cannot be written ({e.Message}): tracing needs root");
        }
        finally
        {
            TryWrite("tracing_on", "0");
            foreach (string enable in enabled) TryWrite(enable, "0");
            TryWrite("options/record-tgid", previousTgid.Trim());
            TryWrite("buffer_size_kb", previousBuffer.Split(' ')[0].Trim());
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

    private long WriteTrace(string output, IReadOnlyList<string> command)
    {
        long lines = 0;
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
            if (dir is not null) Directory.CreateDirectory(dir);
            using var writer = new StreamWriter(output, append: false, new UTF8Encoding(false));
            writer.WriteLine($"# twin record: kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}, cpus={Environment.ProcessorCount}, " +
                $"recorded {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, command: {string.Join(' ', command)}");
            foreach (string line in File.ReadLines(Path.Combine(tracefs, "trace")))
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

    /// <summary>
    /// Empties the ring buffer. tracefs clears it on an open with O_TRUNC, which .NET's file APIs
    /// do not reliably issue for a file that reports size 0, so the shell's "&gt;" does it.
    /// </summary>
    private void ClearBuffer()
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("echo > \"$1\"");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(Path.Combine(tracefs, "trace"));
        using Process p = Process.Start(psi) ?? throw new RecordException("cannot start /bin/sh to clear the trace buffer");
        p.WaitForExit();
        if (p.ExitCode != 0) throw new RecordException($"cannot clear {Path.Combine(tracefs, "trace")} (sh exited {p.ExitCode})");
    }

    private string Read(string file) => File.ReadAllText(Path.Combine(tracefs, file));

    private void Write(string file, string value) => File.WriteAllText(Path.Combine(tracefs, file), value);

    private void TryWrite(string file, string value)
    {
        try
        {
            Write(file, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: restoring a setting must not hide the error that got us here.
        }
    }
}
