using BenchmarkDotNet.Attributes;
using Twin.Traces.Ftrace;

namespace Twin.Benchmarks;

/// <summary>Parsing ftrace text lines of the kinds a membarrier trace is made of.</summary>
[MemoryDiagnoser]
public class TraceParseBenchmarks
{
    private static readonly string[] s_lines =
    [
        "          <idle>-0       (-------) [001] d..2.  1234.567890: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=mb-3t next_pid=4242 next_prio=120",
        "           mb-3t-4242    (   4240) [001] .....  1234.567891: sys_enter_membarrier: cmd: 0x00000008, flags: 0x00000000, cpu_id: 0x00000000",
        "           mb-3t-4242    (   4240) [001] d..1.  1234.567892: ipi_send_cpumask: cpumask=0-1,3 callsite=smp_call_function_many_cond+0x1a0/0x4d0 callback=ipi_mb+0x0/0x20",
        "           mb-3t-4243    (   4240) [003] d.h1.  1234.567893: csd_function_entry: func=ipi_mb csd=00000000a1b2c3d4",
        "           mb-3t-4242    (   4240) [001] .....  1234.567894: sys_exit_membarrier: 0x0",
    ];

    [Benchmark(OperationsPerInvoke = 5, Description = "parse one ftrace line")]
    public int ParseLines()
    {
        int kinds = 0;
        foreach (string line in s_lines)
        {
            TraceRecord r = default;
            LineFacts facts = default;
            kinds += (int)FtraceLineParser.Parse(line, ref r, ref facts);
        }
        return kinds;
    }
}
