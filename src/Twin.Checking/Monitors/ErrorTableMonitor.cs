using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Checking.Monitors;

/// <summary>
/// E-*: the return value of every membarrier call against an independent oracle of sys_membarrier's
/// checks (kernel-model §3.2–3.3), in their order: flags (EINVAL), the command (EINVAL), nohz_full
/// (GLOBAL: EINVAL; QUERY without GLOBAL), registration (EPERM); otherwise 0, QUERY's mask or
/// GET_REGISTRATIONS' mask. The property id names the expected errno: E-EINVAL, E-EPERM, E-RET.
/// </summary>
public sealed class ErrorTableMonitor(MachineFacts facts) : Monitor
{
    private readonly long[] _expected = new long[Limits.MaxCpus];
    private readonly bool[] _pending = new bool[Limits.MaxCpus];
    private readonly int[] _cmd = new int[Limits.MaxCpus];

    public override string Property => "E-RET";

    public override string Guarantee =>
        "membarrier(2): \"For a given command, with flags set to 0, this system call is guaranteed to always return the same value until reboot\"; " +
        "EINVAL: cmd is invalid, or flags are nonzero, or GLOBAL with nohz_full; EPERM: the process did not register";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out MembarrierEntered me))
        {
            _pending[me.Cpu] = true;
            _cmd[me.Cpu] = me.Cmd;
            _expected[me.Cpu] = Expected(me.Cmd, me.Flags, View.MmState(me.Mm));
        }
        else if (Is(in evt, out MembarrierExited mx) && _pending[mx.Cpu])
        {
            _pending[mx.Cpu] = false;
            long expected = _expected[mx.Cpu];
            if (expected == mx.Ret) return;
            string property = expected < 0 ? $"E-{Errno.Name((int)-expected)}" : "E-RET";
            Report(in meta, mx.Cpu, 0, $"membarrier({MembarrierCmd.Name(_cmd[mx.Cpu])}) returned {Describe(mx.Ret)}, sys_membarrier's checks give {Describe(expected)}",
                task: mx.Task, property: property);
        }
    }

    /// <summary>What sys_membarrier returns for (cmd, flags) with the mm in <paramref name="state"/>.</summary>
    public long Expected(int cmd, int flags, int state)
    {
        bool flagsOk = cmd == MembarrierCmd.PrivateExpeditedRseq ? flags is 0 or MembarrierCmd.FlagCpu : flags == 0;
        if (!flagsOk) return -Errno.EINVAL;
        return cmd switch
        {
            MembarrierCmd.Query => facts.NohzFull ? MembarrierCmd.AllSupported & ~MembarrierCmd.Global : MembarrierCmd.AllSupported,
            MembarrierCmd.Global => facts.NohzFull ? -Errno.EINVAL : 0,
            MembarrierCmd.GlobalExpedited or MembarrierCmd.RegisterGlobalExpedited or MembarrierCmd.RegisterPrivateExpedited
                or MembarrierCmd.RegisterPrivateExpeditedSyncCore or MembarrierCmd.RegisterPrivateExpeditedRseq => 0,
            MembarrierCmd.PrivateExpedited => (state & MembarrierState.PrivateExpeditedReady) != 0 ? 0 : -Errno.EPERM,
            MembarrierCmd.PrivateExpeditedSyncCore => (state & MembarrierState.SyncCoreReady) != 0 ? 0 : -Errno.EPERM,
            MembarrierCmd.PrivateExpeditedRseq => (state & MembarrierState.RseqReady) != 0 ? 0 : -Errno.EPERM,
            MembarrierCmd.GetRegistrations => Registrations(state),
            _ => -Errno.EINVAL,
        };
    }

    private static int Registrations(int s)
    {
        int mask = 0;
        if ((s & (MembarrierState.GlobalExpedited | MembarrierState.GlobalExpeditedReady)) != 0) mask |= MembarrierCmd.RegisterGlobalExpedited;
        if ((s & (MembarrierState.PrivateExpedited | MembarrierState.PrivateExpeditedReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpedited;
        if ((s & (MembarrierState.SyncCore | MembarrierState.SyncCoreReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpeditedSyncCore;
        if ((s & (MembarrierState.Rseq | MembarrierState.RseqReady)) != 0) mask |= MembarrierCmd.RegisterPrivateExpeditedRseq;
        return mask;
    }

    private static string Describe(long ret) => ret < 0 ? $"-1 ({Errno.Name((int)-ret)})" : ret.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
