using Twin.Checking;
using Twin.Kernel.Lam;
using Twin.Kernel.Membarrier;
using Twin.Kernel.Tasks;
using Twin.Simulation.Config;

namespace Twin.Simulation.Running;

/// <summary>Compares a scenario's expected membarrier and arch_prctl results with what the calls returned.</summary>
public static class Expectations
{
    public static IEnumerable<Violation> Check(IReadOnlyList<Expectation> expected, IReadOnlyList<SyscallRecord> calls, long nowNs)
    {
        foreach (Expectation e in expected)
        {
            SyscallRecord? call = calls.FirstOrDefault(c => c.Task == e.Task && c.StepIndex == e.StepIndex);
            string what = $"task '{e.Task}' step {e.StepIndex}";
            if (call is null || !call.Returned)
            {
                yield return new Violation("EXPECT", nowNs, -1, 0, 0, $"{what}: the call never returned");
                continue;
            }
            string got = call.Ret < 0 ? $"-1, errno {Errno.Name((int)-call.Ret)}" : call.Ret.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string cmd = call.Kind == StepKind.ArchPrctl ? $"arch_prctl({ArchPrctlOption.Name(call.Cmd)}, {call.Flags})" : $"membarrier({MembarrierCmd.Name(call.Cmd)})";
            if (e.Errno is int errno && call.Ret != -errno)
            {
                yield return new Violation("EXPECT", nowNs, -1, 0, 0, $"{what}: {cmd} returned {got}, expected -1 with {Errno.Name(errno)}");
            }
            else if (e.Ret is long ret && call.Ret != ret)
            {
                yield return new Violation("EXPECT", nowNs, -1, 0, 0, $"{what}: {cmd} returned {got}, expected {ret}");
            }
        }
    }
}
