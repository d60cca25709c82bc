using Twin.Actors;
using Twin.Kernel.Membarrier;

namespace Twin.Kernel.Tasks;

/// <summary>
/// The soak workload: each step drawn by weight (config <c>workload.weights</c>), with every
/// membarrier command and flag, shootdowns, cross-modifying code before SYNC_CORE, rseq critical
/// sections, fork/exec/exit of child processes and kthread_use_mm. Base processes never exec or
/// exit, so the workload keeps its shape; children do both.
/// Each task draws from its own stream (<paramref name="own"/>), not the kernel's: the kernel
/// then draws the same values whether a step came from here or from a scenario file, so a
/// recorded random run replays as a scenario with the same interleaving (what twin shrink needs).
/// </summary>
public sealed class RandomProgram(WorkloadConfig config, bool kthread, bool child, bool registers, DeterministicRandom own) : TaskProgram
{
    private readonly Queue<Step> _queued = new();
    private bool _started;
    private int _stores;

    public override bool TryNext(TaskRuntime task, KernelModel kernel, DeterministicRandom kernelRandom, out Step step)
    {
        DeterministicRandom random = own;
        if (!_started)
        {
            _started = true;
            if (registers) QueueRegistrations(random);
        }
        if (_queued.Count > 0)
        {
            step = _queued.Dequeue();
            return true;
        }
        step = kthread ? NextKernelStep(task, kernel, random) : NextUserStep(task, kernel, random);
        return true;
    }

    private void QueueRegistrations(DeterministicRandom random)
    {
        foreach (int cmd in (int[])[MembarrierCmd.RegisterPrivateExpedited, MembarrierCmd.RegisterPrivateExpeditedSyncCore,
                     MembarrierCmd.RegisterPrivateExpeditedRseq, MembarrierCmd.RegisterGlobalExpedited])
        {
            if (random.Chance(config.RegisterProbability)) _queued.Enqueue(new Step(StepKind.Membarrier, Cmd: cmd));
        }
    }

    private Step Spin(DeterministicRandom random, StepKind kind = StepKind.Spin) =>
        new(kind, Ns: random.NextLong(config.SpinNsMin, config.SpinNsMax));

    private Step NextUserStep(TaskRuntime task, KernelModel kernel, DeterministicRandom random)
    {
        StepWeights w = config.Weights;
        bool singleThreaded = kernel.Mm(kernel.Tasks.Get(task.Task).Mm).State.Users == 1;
        int fork = kernel.LiveTasks < config.MaxTasks ? w.Fork : 0;
        int exec = child && singleThreaded ? w.Exec : 0;
        int exit = child ? w.Exit : 0;
        int text = kernel.Config.TextPoke is null ? 0 : w.TextPoke;
        int total = w.Spin + w.Sleep + w.Yield + w.Membarrier + w.Mprotect + w.Munmap + w.WriteCode + w.Rseq + w.Lam + text + fork + exec + exit + w.Access;
        if (total == 0) return Spin(random);
        int r = random.NextInt(total);
        if ((r -= w.Spin) < 0) return Spin(random);
        if ((r -= w.Sleep) < 0) return new Step(StepKind.Sleep, Ns: random.NextLong(config.SleepNsMin, config.SleepNsMax));
        if ((r -= w.Yield) < 0) return new Step(StepKind.Yield);
        if ((r -= w.Membarrier) < 0) return Membarrier(task, kernel, random);
        if ((r -= w.Mprotect) < 0) return new Step(StepKind.Mprotect);
        if ((r -= w.Munmap) < 0) return new Step(StepKind.Munmap);
        if ((r -= w.WriteCode) < 0) return new Step(StepKind.WriteCode);
        if ((r -= w.Rseq) < 0) return Spin(random, StepKind.Rseq);
        if ((r -= w.Lam) < 0) return ArchPrctl(random);
        if ((r -= text) < 0) return Text(kernel, random);
        if ((r -= fork) < 0) return new Step(StepKind.Fork, Target: -1);
        if ((r -= w.Access) < 0) return Access(kernel.Tasks.Get(task.Task).Mm, random);
        if ((r -= exec) < 0) return new Step(StepKind.Exec);
        return new Step(StepKind.Exit);
    }

    /// <summary>
    /// Weak-memory mode: a load or store of a shared or private variable, or, half the time, the
    /// store-then-load pair of a lock-free fast path (the store-buffering shape membarrier exists
    /// for: only a compiler barrier between them, membarrier's IPI standing in for the rest).
    /// Stores write values unique to the task, so a load's value says which store it read; loads
    /// fill register 0.
    /// </summary>
    private Step Access(int mm, DeterministicRandom random)
    {
        int region = random.Chance(0.5) ? -1 : mm;
        if (random.Chance(0.5))
        {
            _queued.Enqueue(Load(region, random));
            return Store(region, random);
        }
        return random.Chance(0.5) ? Store(region, random) : Load(region, random);
    }

    private Step Store(int region, DeterministicRandom random) => new(StepKind.Store, Target: Var(region, random), Cmd: ++_stores);

    private static Step Load(int region, DeterministicRandom random) => new(StepKind.Load, Target: Var(region, random), Cmd: 0);

    /// <summary>A variable of the shared region (-1) or of mm <paramref name="region"/>.</summary>
    private static int Var(int region, DeterministicRandom random)
    {
        int k = random.NextInt(MemoryVars.PerRegion);
        return region < 0 ? MemoryVars.Shared(k) : MemoryVars.Private(region, k);
    }

    /// <summary>ARCH_ENABLE_TAGGED_ADDR with LAM_U57's 6 bits, now and then a bad bit count or a query, and syscalls given tagged pointers.</summary>
    private static Step ArchPrctl(DeterministicRandom random)
    {
        int r = random.NextInt(100);
        return r switch
        {
            < 45 => new Step(StepKind.ArchPrctl, Cmd: Lam.ArchPrctlOption.EnableTaggedAddr, Target: Lam.ArchPrctlOption.LamU57Bits),
            < 50 => new Step(StepKind.ArchPrctl, Cmd: Lam.ArchPrctlOption.EnableTaggedAddr, Target: random.Chance(0.5) ? 0 : 7),
            < 58 => new Step(StepKind.ArchPrctl, Cmd: Lam.ArchPrctlOption.GetUntagMask),
            < 62 => new Step(StepKind.ArchPrctl, Cmd: Lam.ArchPrctlOption.GetMaxTagBits),
            _ => new Step(StepKind.TaggedSyscall),
        };
    }

    /// <summary>
    /// Mostly kernel code running patchable sites (one in ten a kprobe'd instruction), now and then
    /// a static-key flip: a text_poke_bp batch of one to three sites.
    /// </summary>
    private static Step Text(KernelModel kernel, DeterministicRandom random)
    {
        int sites = kernel.Config.TextPoke!.Sites;
        if (random.Chance(0.25))
        {
            int mask = 0;
            for (int n = 1 + random.NextInt(Math.Min(3, sites)); n > 0; n--) mask |= 1 << random.NextInt(sites);
            return new Step(StepKind.TextPoke, Target: mask);
        }
        return new Step(StepKind.TextExec, Target: random.Chance(0.1) ? -1 : random.NextInt(sites));
    }

    /// <summary>Every command and flag; SYNC_CORE calls follow a code write, as real JITs do.</summary>
    private Step Membarrier(TaskRuntime task, KernelModel kernel, DeterministicRandom random)
    {
        int r = random.NextInt(100);
        int cmd = r switch
        {
            < 30 => MembarrierCmd.PrivateExpedited,
            < 50 => MembarrierCmd.PrivateExpeditedSyncCore,
            < 62 => MembarrierCmd.PrivateExpeditedRseq,
            < 76 => MembarrierCmd.GlobalExpedited,
            < 78 => MembarrierCmd.Global,
            < 82 => MembarrierCmd.Query,
            < 86 => MembarrierCmd.GetRegistrations,
            < 89 => MembarrierCmd.RegisterPrivateExpedited,
            < 92 => MembarrierCmd.RegisterPrivateExpeditedSyncCore,
            < 95 => MembarrierCmd.RegisterPrivateExpeditedRseq,
            < 98 => MembarrierCmd.RegisterGlobalExpedited,
            _ => -1, // an invalid command: EINVAL
        };
        int flags = 0, cpuId = -1;
        if (cmd == MembarrierCmd.PrivateExpeditedRseq && random.Chance(0.4))
        {
            flags = MembarrierCmd.FlagCpu;
            cpuId = random.NextInt(kernel.Config.Cpus + 1); // now and then an offline / out-of-range id
        }
        else if (random.Chance(0.01))
        {
            flags = 1; // flags on a command that takes none: EINVAL
        }
        var call = new Step(StepKind.Membarrier, Cmd: cmd, Flags: flags, CpuId: cpuId);
        bool ordering = cmd is MembarrierCmd.PrivateExpedited or MembarrierCmd.PrivateExpeditedSyncCore or MembarrierCmd.PrivateExpeditedRseq or MembarrierCmd.GlobalExpedited;
        if (config.Weights.Access > 0 && ordering)
        {
            // The slow path that pairs with the fast paths' store-then-load: store; membarrier(); load.
            int region = cmd == MembarrierCmd.GlobalExpedited || random.Chance(0.5) ? -1 : kernel.Tasks.Get(task.Task).Mm;
            Step store = Store(region, random);
            if (cmd == MembarrierCmd.PrivateExpeditedSyncCore) _queued.Enqueue(new Step(StepKind.WriteCode));
            _queued.Enqueue(call);
            _queued.Enqueue(Load(region, random));
            return store;
        }
        if (cmd != MembarrierCmd.PrivateExpeditedSyncCore) return call;
        _queued.Enqueue(call);
        return new Step(StepKind.WriteCode);
    }

    private Step NextKernelStep(TaskRuntime task, KernelModel kernel, DeterministicRandom random)
    {
        StepWeights w = config.Weights;
        bool usingMm = kernel.Tasks.Get(task.Task).Mm != KernelIds.None;
        int text = kernel.Config.TextPoke is null ? 0 : w.TextPoke;
        int total = w.Spin + w.Sleep + w.Yield + w.UseMm + text;
        int r = total == 0 ? 0 : random.NextInt(total);
        if (total == 0 || (r -= w.Spin) < 0) return Spin(random);
        if ((r -= w.Sleep) < 0) return new Step(StepKind.Sleep, Ns: random.NextLong(config.SleepNsMin, config.SleepNsMax));
        if ((r -= w.Yield) < 0) return new Step(StepKind.Yield);
        if ((r -= text) < 0) return Text(kernel, random);
        if (usingMm) return new Step(StepKind.UnuseMm);
        int target = kernel.RandomLiveProcess(random);
        return target == 0 ? Spin(random) : new Step(StepKind.UseMm, Target: target);
    }
}
