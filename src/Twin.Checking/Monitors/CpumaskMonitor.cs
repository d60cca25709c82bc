using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;

namespace Twin.Checking.Monitors;

/// <summary>TLB-2: <c>mm_cpumask(mm) ⊇ {cpu : loaded_mm(cpu) == mm}</c>, when a CPU loads an mm and when a bit is cleared.</summary>
public sealed class CpumaskMonitor : Monitor
{
    public override string Property => "TLB-2";

    public override string Guarantee =>
        "switch_mm_irqs_off(): \"Start receiving IPIs and then read tlb_gen\": a CPU is in mm_cpumask(next) before it loads next; " +
        "flush_tlb_func() clears it only when the mm is no longer loaded";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (Is(in evt, out MmSwitched ms) && ms.Next != KernelIds.InitMm && !View.MmCpumask(ms.Next).Test(ms.Cpu))
        {
            Report(in meta, ms.Cpu, ms.Next, $"CPU {ms.Cpu} loads mm {ms.Next} while not in its mm_cpumask {View.MmCpumask(ms.Next)}", task: View.Curr[ms.Cpu]);
        }
        else if (Is(in evt, out MmCpumaskCleared cl) && !View.Switching[cl.Cpu] && View.Loaded[cl.Cpu] == cl.Mm)
        {
            Report(in meta, cl.Cpu, cl.Mm, $"CPU {cl.Cpu} leaves mm_cpumask(mm {cl.Mm}) with the mm still loaded", task: View.Curr[cl.Cpu]);
        }
    }
}
