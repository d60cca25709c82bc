using Twin.Checking.Conformance;
using Twin.Kernel.Arch;
using Twin.Traces.Ftrace;
using Twin.Traces.Replay;

namespace Twin.Simulation.Conformance;

/// <summary>What <c>twin conform</c> found on one trace.</summary>
public sealed record ConformanceResult(string Trace, ReadReport Read, ConformanceCheck Check, string Arch, ulong Seed);

/// <summary>
/// <c>twin conform TRACE</c>: the trace is read and rebuilt in the model's terms as
/// <c>twin import</c> does; every membarrier call it holds is then made again by the kernel model
/// from the state the trace shows at its start, and the two are compared (docs/conform.md).
/// </summary>
public static class ConformanceRunner
{
    public static ConformanceResult Run(string path, ArchProfile arch, ulong seed = 1, bool strict = false)
    {
        var check = new ConformanceCheck(arch, seed);
        var recorder = new MembarrierCallRecorder(check.OnCall);
        FtraceReader.EnsureExists(path);
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TraceCheck.TasksOf(path);
        var trace = new TraceCheck(tgids, kthreads, alsoTo: [recorder]);
        recorder.InExec = trace.Reconstructor.InExec;
        ReadReport report = FtraceReader.Read(path, trace, strict);
        trace.Finish();
        recorder.Finish();
        return new ConformanceResult(path, report, check, arch.Name, seed);
    }
}
