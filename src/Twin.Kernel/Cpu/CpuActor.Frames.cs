using System.Runtime.CompilerServices;
using Akka.Actor;
using Twin.Actors;
using Twin.Kernel.Cpu.Paths;
using Twin.Kernel.Runqueue;
using Twin.Kernel.Tasks;

namespace Twin.Kernel.Cpu;

// The driver of the kernel paths: the CPU's stack of frames, the waits a path awaits (each armed
// on a frame, with the frame's token), and the messages that end them. A kernel path runs inside
// the message that started or resumed it until it awaits; nothing else runs on the CPU meanwhile.
public sealed partial class CpuActor
{
    private void Push(CpuFrame frame)
    {
        Invariant.Assert(!frame.OnStack && _depth < _stack.Length, "a frame is on the CPU's stack once");
        frame.OnStack = true;
        _stack[_depth++] = frame;
    }

    private void Pop(CpuFrame frame)
    {
        Invariant.Assert(_depth > 1 && _stack[_depth - 1] == frame, "a handler's frame leaves the stack from its top");
        _stack[--_depth] = null!;
        frame.OnStack = false;
    }

    private bool InException => _exception.OnStack;

    /// <summary>A frame waits for a store: the CPU takes nothing but the store's answer.</summary>
    private bool StoreInFlight => _task.Wait == FrameWait.Store || _irq.Wait == FrameWait.Store || _exception.Wait == FrameWait.Store;

    /// <summary>
    /// Starts <paramref name="path"/> as what its frame runs from now on; it runs until it first
    /// waits, and its frame holds it then. Nobody awaits its end (a switch, an interrupt's exit
    /// to user mode and the idle task's wakeup start the task's next path this way).
    /// </summary>
    private static void Launch(KernelPath path) => _ = path;

    private static void Launch(KernelPath<bool> path) => _ = path;

    /// <summary>One step of kernel code in the task's frame: a delay drawn from <c>kernel.stepNs*</c>, other CPUs running meanwhile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FrameAwaiter KernelStep() => TaskAfter(StepNs(), FrameWait.Step);

    /// <summary><paramref name="ns"/> of the task's kernel work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FrameAwaiter Delay(long ns) => TaskAfter(ns, FrameWait.Step);

    /// <summary>A poll of synchronize_rcu() (<c>kernel.rcuPollNs</c>).</summary>
    private FrameAwaiter RcuPoll() => TaskAfter(Kernel.Config.Timing.RcuPollNs, FrameWait.RcuPoll);

    /// <summary><paramref name="ns"/> of user work; false when an interrupt took the task into the kernel first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private UserModeAwaiter UserWork(long ns)
    {
        _workUntilNs = NowNs + ns;
        TaskAfter(ns, FrameWait.User);
        return new UserModeAwaiter(_task);
    }

    /// <summary>A kernel step's time in user mode before the task's next step; false when an interrupt came first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private UserModeAwaiter UserStep()
    {
        TaskAfter(StepNs(), FrameWait.User);
        return new UserModeAwaiter(_task);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FrameAwaiter TaskAfter(long delayNs, FrameWait wait)
    {
        _task.Arm(wait);
        TellAfter(delayNs, Self, new Continue(_task.NextToken()));
        return _task.Awaiter();
    }

    /// <summary>A step of the exception handler: other CPUs run; the task's frame stays held.</summary>
    private FrameAwaiter HandlerStep(long ns)
    {
        _exception.Arm(FrameWait.Step);
        TellAfter(ns, Self, new ExceptionStep(_exception.NextToken()));
        return _exception.Awaiter();
    }

    /// <summary>The token of the task frame's next store (the request carries it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long NextToken() => _task.NextToken();

    /// <summary>
    /// A store to memory <paramref name="owner"/> owns, by the task: the request (carrying
    /// <see cref="NextToken"/>) goes out and the CPU waits for the owner's <see cref="Done"/>; the
    /// await gives its value.
    /// </summary>
    private FrameAwaiter Store(IActorRef owner, object request) => StoreOn(_task, owner, request);

    private FrameAwaiter StoreOn(CpuFrame frame, IActorRef owner, object request)
    {
        Invariant.Assert(!StoreInFlight, "one store in flight per CPU");
        frame.Arm(FrameWait.Store, storesRqState: request is RqSetMembarrierState or RqSwitch);
        owner.Tell(request, Self);
        return frame.Awaiter();
    }

    /// <summary>csd_lock_wait() on every IPI of the batch (sent with wait=1): at once when none is pending.</summary>
    private FrameAwaiter CsdLockWait()
    {
        if (_acksPending == 0) return _task.Awaiter(done: true);
        _task.Arm(FrameWait.Acks);
        _task.NextToken();
        return _task.Awaiter();
    }

    /// <summary>A store's answer: the frame waiting for it goes on (and the messages held meanwhile are due again).</summary>
    private bool TryResume(Done done)
    {
        CpuFrame? frame = Stored(_task, done) ?? Stored(_irq, done) ?? Stored(_exception, done);
        if (frame is null) return false;
        if (frame.StoresRqState) RqStateStored();
        Stash.UnstashAll();
        frame.Resume(done.Value);
        return true;
    }

    private static CpuFrame? Stored(CpuFrame frame, Done done) => frame.Wait == FrameWait.Store && done.Token == frame.Token ? frame : null;

    /// <summary>The task's step is due; an exception handler on the CPU holds it until its IRET.</summary>
    private void OnContinue(Continue c)
    {
        if (c.Token != _task.Token) return;
        if (InException)
        {
            _exception.StepDue = true;
            return;
        }
        _task.Resume();
    }

    private void OnExceptionStep(ExceptionStep step)
    {
        if (step.Token != _exception.Token || !InException) return;
        _exception.Resume();
    }

    /// <summary>Time one step of kernel code takes, drawn from <c>kernel.stepNs*</c>, now and then stalled (<c>kernel.stall*</c>).</summary>
    private long StepNs() => StepTiming.StepNs(Kernel, State, Random);

    /// <summary>Starts the running task's slice; its tick ends it. Any earlier slice's tick becomes stale.</summary>
    private void StartSlice()
    {
        TimingConfig t = Kernel.Config.Timing;
        TellAfter(Random.NextLong(t.SliceNsMin, t.SliceNsMax), Self, new SchedTick(++_slice));
    }

    private void CancelSlice() => _slice++;

    /// <summary>
    /// The end of finish_task_switch(): the task now on the CPU runs from where it stopped, in a
    /// path of its own (the idle task runs none: a wakeup schedules).
    /// </summary>
    private void ResumeCurrent()
    {
        int curr = Curr;
        if (KernelIds.IsIdle(curr))
        {
            _task.Idle();
            if (_offlinePending)
            {
                GoOffline();
                return;
            }
            if (Rq.Queued > 0) Launch(Schedule(PrevState.Runnable));
            return;
        }
        StartSlice();
        TaskRuntime task = Kernel.Runtime(curr);
        if (Machine.Task(curr).Kthread)
        {
            Launch(KthreadResume());
            return;
        }
        Invariant.Assert(task.Resume != ResumeKind.KernelContinue, "a user task resumes from user mode, a syscall or fork");
        Launch(UserTask(task.Resume, task.RemainingNs));
    }
}
