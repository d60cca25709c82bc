using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Checking.Monitors;

/// <summary>
/// Task isolation's deferred syncs, kernel-model §7.3. I1: a deferrable sync either interrupts
/// its target or sets its CT_WORK_SYNC bit while the target is outside the kernel. I2: a CPU with
/// the bit pending runs no patchable kernel text before the deferred sync_core(). I3: a pending
/// bit is flushed at the next kernel entry, never dropped. I4: only text_poke's syncs are
/// deferred (membarrier SYNC_CORE never is: user code is its consumer; P-SC checks its effect).
/// </summary>
public sealed class IsolationMonitor : Monitor
{
    private readonly bool[] _pending = new bool[Limits.MaxCpus];
    private readonly bool[] _enteredSince = new bool[Limits.MaxCpus];
    private bool _inSync;

    public override string Property => "I1";

    public override string Guarantee =>
        "task isolation: \"for each target CPU of a deferrable sync, exactly one of: the IPI handler ran before the sender returned, or the " +
        "work bit was set by a successful cmpxchg while the CPU was outside the kernel\"; a CPU with a pending CT_WORK_SYNC executes no " +
        "patchable kernel text until it has run sync_core(); a pending bit is never cleared without running the work; membarrier SYNC_CORE IPIs are not deferrable";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out CtWork w)) Work(in meta, w);
        else if (Is(in evt, out TextPokeStepped st)) _inSync = st.Phase.WritesText();
        else if (Is(in evt, out KernelEntered ke) && _pending[ke.Cpu]) _enteredSince[ke.Cpu] = true;
        else if (Is(in evt, out TextFetched tf) && _pending[tf.Cpu]) RunsText(in meta, tf.Cpu, $"runs patchable site {tf.Site} ({tf.Context})");
        else if (Is(in evt, out Int3Handled ih) && ih.Step == Int3Step.Trapped && ih.Site < 0 && _pending[ih.Cpu]) RunsText(in meta, ih.Cpu, "runs a kprobe'd instruction");
        else if (Is(in evt, out ReturnedToUser ru) && _pending[ru.Cpu] && _enteredSince[ru.Cpu])
        {
            _enteredSince[ru.Cpu] = false;
            Report(in meta, ru.Cpu, 0, $"CPU {ru.Cpu} entered the kernel and returns to user mode with its CT_WORK_SYNC still pending: the deferred sync_core() was not run", task: ru.Task, property: "I3");
        }
    }

    private void Work(in EventMeta meta, CtWork w)
    {
        if (w.Step != CtWorkStep.Flushed && !_inSync)
        {
            Report(in meta, w.Cpu, 0, $"CPU {w.From} defers a sync to CPU {w.Cpu} outside text_poke's sync steps: only text_poke's do_sync_core may be deferred, never membarrier's", property: "I4");
        }
        switch (w.Step)
        {
            case CtWorkStep.Set:
                if (View.Mode[w.Cpu] == CpuMode.Kernel)
                {
                    Report(in meta, w.Cpu, 0,
                        $"CPU {w.From} sets CPU {w.Cpu}'s CT_WORK_SYNC instead of sending the IPI, but CPU {w.Cpu} is running kernel code: it already passed its entry flush, so it runs on without the sync",
                        task: View.Curr[w.Cpu]);
                }
                if (!_pending[w.Cpu]) _enteredSince[w.Cpu] = false;
                _pending[w.Cpu] = true;
                break;
            case CtWorkStep.Flushed:
                _pending[w.Cpu] = false;
                _enteredSince[w.Cpu] = false;
                break;
        }
    }

    private void RunsText(in EventMeta meta, int cpu, string what)
    {
        Report(in meta, cpu, 0, $"CPU {cpu} {what} with its CT_WORK_SYNC pending: patchable text before the deferred sync_core()", task: View.Curr[cpu], property: "I2");
        _pending[cpu] = false; // one report per deferral
    }
}
