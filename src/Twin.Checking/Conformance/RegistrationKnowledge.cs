using Twin.Kernel.Membarrier;

namespace Twin.Checking.Conformance;

/// <summary>
/// What a trace shows of each process's <c>mm->membarrier_state</c>, bit by bit. From an exec on all
/// of it (membarrier_exec_mmap() clears it); for a process that began before the trace, or a CPU's
/// buffer that wrapped, only what its own calls prove (kernel/sched/membarrier.c): a REGISTER_*
/// returning 0 sets its bits; PRIVATE_EXPEDITED, _SYNC_CORE and _RSEQ check their READY bit before
/// anything else, so 0 proves it and -EPERM its absence; GET_REGISTRATIONS names the commands not
/// registered. The bits never clear but at exec, which makes a new mm, so what a return proves
/// holds for the rest of the process.
/// </summary>
public sealed class RegistrationKnowledge
{
    /// <summary>Every bit of membarrier_state.</summary>
    public const int All = 0xff;

    private readonly Dictionary<int, (int Known, int State)> _mms = [];

    /// <summary>exec: a fresh mm, every bit known and clear.</summary>
    public void Exec(int mm) => _mms[mm] = (All, 0);

    /// <summary>fork of a new process: dup_mm() copies the parent's state, and what is known of it.</summary>
    public void Copy(int child, int parent) => _mms[child] = _mms.GetValueOrDefault(parent);

    /// <summary>An mm whose state the stream gives whole (a simulation's, or a trace's exec and its forks).</summary>
    public void Created(int mm, int state) => _mms[mm] = (All, state);

    /// <summary>An mm that existed before the trace: nothing is known of its state until its calls show it.</summary>
    public void Forget(int mm) => _mms.Remove(mm);

    /// <summary>
    /// Lines of the process may have been lost (a lost window, an exit line whose call's entry is
    /// not there): a REGISTER in them would have set bits known to be clear. The bits known set
    /// stay (registration only adds), the clear ones become unknown.
    /// </summary>
    public void ForgetClear(int mm)
    {
        if (!_mms.TryGetValue(mm, out (int Known, int State) k)) return;
        _mms[mm] = (k.Known & k.State, k.State);
    }

    public int Known(int mm) => _mms.GetValueOrDefault(mm).Known;

    /// <summary>The known bits' values (unknown ones read 0).</summary>
    public int State(int mm) => _mms.GetValueOrDefault(mm).State;

    public bool Knows(int mm, int bits) => (Known(mm) & bits) == bits;

    /// <summary>
    /// The bits the outcome of a call depends on (its return value in sys_membarrier's checks, and
    /// whether it IPIs): none for QUERY, GLOBAL, GLOBAL_EXPEDITED and bad flags; the command's READY
    /// bit for PRIVATE_EXPEDITED (_SYNC_CORE, _RSEQ) and for a REGISTER (which returns at once when
    /// it is set); all of them for GET_REGISTRATIONS.
    /// </summary>
    public static int Relevant(int cmd, int flags)
    {
        bool flagsOk = cmd == MembarrierCmd.PrivateExpeditedRseq ? flags is 0 or MembarrierCmd.FlagCpu : flags == 0;
        if (!flagsOk) return 0;
        return cmd switch
        {
            MembarrierCmd.PrivateExpedited or MembarrierCmd.RegisterPrivateExpedited => MembarrierState.PrivateExpeditedReady,
            MembarrierCmd.PrivateExpeditedSyncCore or MembarrierCmd.RegisterPrivateExpeditedSyncCore => MembarrierState.SyncCoreReady,
            MembarrierCmd.PrivateExpeditedRseq or MembarrierCmd.RegisterPrivateExpeditedRseq => MembarrierState.RseqReady,
            MembarrierCmd.RegisterGlobalExpedited => MembarrierState.GlobalExpeditedReady,
            MembarrierCmd.GetRegistrations => All,
            _ => 0,
        };
    }

    /// <summary>What membarrier_register_*() sets in mm->membarrier_state.</summary>
    public static int Registered(int cmd) => cmd switch
    {
        MembarrierCmd.RegisterPrivateExpedited => MembarrierState.PrivateExpeditedReady | MembarrierState.PrivateExpedited,
        // membarrier_register_private_expedited: set_state starts as PRIVATE_EXPEDITED whatever the flag,
        // so GET_REGISTRATIONS reports REGISTER_PRIVATE_EXPEDITED too (a real trace showed it: 0x110).
        MembarrierCmd.RegisterPrivateExpeditedSyncCore => MembarrierState.SyncCoreReady | MembarrierState.SyncCore | MembarrierState.PrivateExpedited,
        MembarrierCmd.RegisterPrivateExpeditedRseq => MembarrierState.RseqReady | MembarrierState.Rseq | MembarrierState.PrivateExpedited,
        MembarrierCmd.RegisterGlobalExpedited => MembarrierState.GlobalExpeditedReady | MembarrierState.GlobalExpedited,
        _ => 0,
    };

    /// <summary>Learns what a call's return proves about its process's state.</summary>
    public void Returned(int mm, int cmd, int flags, long ret)
    {
        if (Relevant(cmd, flags) == 0) return;
        (int known, int state) = _mms.GetValueOrDefault(mm);
        switch (cmd)
        {
            case MembarrierCmd.RegisterPrivateExpedited or MembarrierCmd.RegisterPrivateExpeditedSyncCore
                or MembarrierCmd.RegisterPrivateExpeditedRseq or MembarrierCmd.RegisterGlobalExpedited when ret == 0:
                known |= Registered(cmd);
                state |= Registered(cmd);
                break;
            case MembarrierCmd.PrivateExpedited or MembarrierCmd.PrivateExpeditedSyncCore or MembarrierCmd.PrivateExpeditedRseq when ret == 0:
                int proven = Registered(RegisterOf(cmd));
                known |= proven;
                state |= proven;
                break;
            case MembarrierCmd.PrivateExpedited or MembarrierCmd.PrivateExpeditedSyncCore or MembarrierCmd.PrivateExpeditedRseq when ret == -Errno.EPERM:
                int ready = Relevant(cmd, flags);
                known |= ready;
                state &= ~ready;
                break;
            case MembarrierCmd.GetRegistrations when ret >= 0:
                // A command not listed has neither of its bits; a listed one may still be registering.
                foreach ((int register, int bits) in s_groups)
                {
                    if ((ret & register) != 0) continue;
                    known |= bits;
                    state &= ~bits;
                }
                break;
        }
        _mms[mm] = (known, state);
    }

    /// <summary>The REGISTER command whose READY bit a PRIVATE_EXPEDITED command checks.</summary>
    public static int RegisterOf(int cmd) => cmd switch
    {
        MembarrierCmd.PrivateExpedited => MembarrierCmd.RegisterPrivateExpedited,
        MembarrierCmd.PrivateExpeditedSyncCore => MembarrierCmd.RegisterPrivateExpeditedSyncCore,
        MembarrierCmd.PrivateExpeditedRseq => MembarrierCmd.RegisterPrivateExpeditedRseq,
        _ => cmd,
    };

    private static readonly (int Register, int Bits)[] s_groups =
    [
        (MembarrierCmd.RegisterPrivateExpedited, MembarrierState.PrivateExpeditedReady | MembarrierState.PrivateExpedited),
        (MembarrierCmd.RegisterPrivateExpeditedSyncCore, MembarrierState.SyncCoreReady | MembarrierState.SyncCore),
        (MembarrierCmd.RegisterPrivateExpeditedRseq, MembarrierState.RseqReady | MembarrierState.Rseq),
        (MembarrierCmd.RegisterGlobalExpedited, MembarrierState.GlobalExpeditedReady | MembarrierState.GlobalExpedited),
    ];
}
