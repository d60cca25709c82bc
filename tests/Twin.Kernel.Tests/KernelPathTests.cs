using Twin.Kernel.Cpu;
using Twin.Kernel.Cpu.Paths;

namespace Twin.Kernel.Tests;

/// <summary>
/// The coroutine type of the kernel paths (<see cref="KernelPath"/>) on a CPU frame of its own: a
/// path runs until it waits, goes on when its frame resumes it, returns values to the path that
/// awaits it, throws where it fails, and allocates nothing once its frames are pooled.
/// </summary>
public sealed class KernelPathTests
{
    private readonly CpuFrame _frame = new(FrameKind.Task);
    private readonly List<string> _log = [];

    private FrameAwaiter Step()
    {
        _frame.Arm(FrameWait.Step);
        _frame.NextToken();
        return _frame.Awaiter();
    }

    private async KernelPath<int> Doubled(int x)
    {
        _log.Add($"doubling {x}");
        await Step();
        _log.Add($"doubled {x}");
        return 2 * x;
    }

    private async KernelPath Outer()
    {
        _log.Add("outer starts");
        int y = await Doubled(21);
        _log.Add($"outer got {y}");
        await Step();
        _log.Add("outer ends");
    }

    [Fact]
    public void a_path_runs_until_it_waits_and_goes_on_only_when_its_frame_resumes_it()
    {
        KernelPath path = Outer();
        Assert.Equal(["outer starts", "doubling 21"], _log);
        Assert.True(_frame.Parked);

        _frame.Resume();
        Assert.Equal(["outer starts", "doubling 21", "doubled 21", "outer got 42"], _log);
        Assert.True(_frame.Parked);

        _frame.Resume();
        Assert.Equal("outer ends", _log[^1]);
        Assert.False(_frame.Parked);
        Assert.True(path.GetAwaiter().IsCompleted);
    }

    private static async KernelPath<int> AtOnce(int x)
    {
        // A wait that is over before it starts (csd_lock_wait() with no IPI pending).
        await new FrameAwaiter(new CpuFrame(FrameKind.Task), done: true);
        return x + 1;
    }

    [Fact]
    public void a_path_that_never_waits_returns_its_value_at_once()
    {
        int result = 0;
        _ = Caller();
        // Set before the call returned: nothing waited, nothing had to resume it.
        Assert.Equal(42, result);
        Assert.False(_frame.Parked);

        async KernelPath Caller() => result = await AtOnce(41);
    }

    private async KernelPath Failing()
    {
        await Step();
        throw new InvalidOperationException("invariant violated");
    }

    private async KernelPath CallsFailing()
    {
        await Failing();
        _log.Add("not reached");
    }

    [Fact]
    public void an_exception_after_a_wait_is_thrown_to_whoever_resumes_the_path_through_every_path_awaiting_it()
    {
        _ = CallsFailing();
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => _frame.Resume());
        Assert.Equal("invariant violated", e.Message);
        Assert.Empty(_log);
    }

    private async KernelPath UserMode()
    {
        _frame.Arm(FrameWait.User);
        bool ranToEnd = await new UserModeAwaiter(_frame);
        _log.Add(ranToEnd ? "step done" : "interrupted");
    }

    [Fact]
    public void a_user_mode_wait_says_whether_an_interrupt_ended_it()
    {
        _ = UserMode();
        _frame.Resume(interrupted: true);
        _ = UserMode();
        _frame.Resume();
        Assert.Equal(["interrupted", "step done"], _log);
    }

    private async KernelPath Loop(int rounds)
    {
        long sum = 0;
        for (int i = 0; i < rounds; i++) sum += await Doubling(i);
        _log.Add(sum.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private async KernelPath<int> Doubling(int x)
    {
        await Step();
        return 2 * x;
    }

    private void RunLoop(int rounds)
    {
        _ = Loop(rounds);
        while (_frame.Parked) _frame.Resume();
    }

    [Fact]
    public void once_its_frames_are_pooled_a_path_that_waits_allocates_nothing()
    {
        RunLoop(100);
        _log.Clear();
        _log.Capacity = 4;
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunLoop(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("99990000", _log[0][..8]);
        Assert.True(allocated < 200, $"{allocated} bytes for 10,000 nested paths that waited (one string expected)");
    }
}
