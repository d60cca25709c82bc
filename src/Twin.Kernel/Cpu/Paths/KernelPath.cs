using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Twin.Actors;

namespace Twin.Kernel.Cpu.Paths;

/// <summary>
/// A kernel path in progress: an <c>async</c> method that reads like the kernel function it models
/// and awaits where another CPU can interleave (a kernel step, a store it waits for, the IPIs it
/// sent). Twin's own coroutine type on C#'s async-method-builder pattern: no Task, no thread, no
/// SynchronizationContext or ExecutionContext. A path runs inside its CPU actor's message until it
/// awaits; the CPU's driver resumes it, on the run loop's thread, when the message it waits for
/// arrives (<see cref="CpuFrame"/>). A path that awaits a path that has not finished waits for it;
/// one that finished at once costs a call. An exception thrown in a path (a failed invariant)
/// propagates to whoever runs it, as from a plain method, and halts the run.
///
/// A path that waits lives in a frame of its own (<see cref="PathBox"/>), taken from a per-thread
/// pool and put back when the path returns: once the pool is warm, running a path allocates nothing.
/// </summary>
[AsyncMethodBuilder(typeof(KernelPathBuilder))]
internal readonly struct KernelPath
{
    private readonly PathBox<Unit>? _box;
    private readonly int _version;

    internal KernelPath(PathBox<Unit>? box)
    {
        _box = box;
        _version = box?.Version ?? 0;
    }

    public PathAwaiter<Unit> GetAwaiter() => new(_box, _version);
}

/// <summary>A kernel path that returns a value (<see cref="KernelPath"/>).</summary>
[AsyncMethodBuilder(typeof(KernelPathBuilder<>))]
internal readonly struct KernelPath<T>
{
    private readonly PathBox<T>? _box;
    private readonly int _version;
    private readonly T _result;

    internal KernelPath(T result)
    {
        _box = null;
        _version = 0;
        _result = result;
    }

    internal KernelPath(PathBox<T> box)
    {
        _box = box;
        _version = box.Version;
        _result = default!;
    }

    public PathAwaiter<T> GetAwaiter() => new(_box, _version, _result);
}

/// <summary>No value: the result of a <see cref="KernelPath"/>.</summary>
internal readonly struct Unit;

/// <summary>Awaits a kernel path: at once when it finished, else when it returns.</summary>
internal readonly struct PathAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly PathBox<T>? _box;
    private readonly int _version;
    private readonly T _result;

    internal PathAwaiter(PathBox<T>? box, int version, T result = default!)
    {
        _box = box;
        _version = version;
        _result = result;
    }

    public bool IsCompleted => _box is null || Live.IsCompleted;

    public T GetResult() => _box is null ? _result : Live.Result;

    public void OnCompleted(Action continuation) => Live.Then(continuation);

    public void UnsafeOnCompleted(Action continuation) => Live.Then(continuation);

    private PathBox<T> Live
    {
        get
        {
            Invariant.Assert(_box!.Version == _version, "a kernel path is awaited once, before its frame is reused");
            return _box;
        }
    }
}

/// <summary>The frame of a path that waited: its state machine, its result, and who waits for it.</summary>
internal abstract class PathBox<T>
{
    private Action? _then;

    /// <summary>Counts the frame's uses, so that a stale handle to a reused frame is caught.</summary>
    internal int Version { get; private protected set; }

    internal bool IsCompleted { get; private protected set; }

    internal T Result { get; private set; } = default!;

    internal void Then(Action continuation)
    {
        Invariant.Assert(_then is null && !IsCompleted, "one waiter per kernel path");
        _then = continuation;
    }

    /// <summary>The path returned: its waiter goes on (and reads the result), then the frame goes back to the pool.</summary>
    internal void Complete(T result)
    {
        Result = result;
        IsCompleted = true;
        Action? then = _then;
        _then = null;
        then?.Invoke();
        Result = default!;
        Recycle();
    }

    private protected abstract void Recycle();
}

/// <summary>A pooled frame for the state machine of one path method.</summary>
internal sealed class PathBox<TStateMachine, T> : PathBox<T> where TStateMachine : IAsyncStateMachine
{
    // One pool per thread: soak workers run their simulations on threads of their own.
    [ThreadStatic]
    private static PathBox<TStateMachine, T>? t_free;

    private PathBox<TStateMachine, T>? _nextFree;

    private PathBox() => MoveNextAction = MoveNext;

    public TStateMachine StateMachine = default!;

    /// <summary>Resumes the path (made once per frame, so a wait allocates nothing).</summary>
    public Action MoveNextAction { get; }

    private void MoveNext() => StateMachine.MoveNext();

    public static PathBox<TStateMachine, T> Rent()
    {
        PathBox<TStateMachine, T>? box = t_free;
        if (box is null) box = new PathBox<TStateMachine, T>();
        else t_free = box._nextFree;
        box._nextFree = null;
        box.IsCompleted = false;
        box.Version++;
        return box;
    }

    private protected override void Recycle()
    {
        StateMachine = default!;
        _nextFree = t_free;
        t_free = this;
    }
}

/// <summary>Runs a <see cref="KernelPath"/> method (the compiler calls it; see <see cref="KernelPathBuilder{T}"/>).</summary>
internal struct KernelPathBuilder
{
    private KernelPathBuilder<Unit> _inner;

    public static KernelPathBuilder Create() => default;

    public readonly KernelPath Task => new(_inner.Box);

    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine => stateMachine.MoveNext();

    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult() => _inner.SetResult(default);

    public readonly void SetException(Exception exception) => ExceptionDispatchInfo.Throw(exception);

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
        _inner.AwaitOnCompleted(ref awaiter, ref stateMachine);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine =>
        _inner.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);
}

/// <summary>
/// Runs a <see cref="KernelPath{T}"/> method. The path starts at once, on the caller's stack; at
/// its first wait that does not complete at once its state machine moves into a pooled frame,
/// which the awaited wait resumes. An exception is rethrown where it happened, not stored.
/// </summary>
internal struct KernelPathBuilder<T>
{
    private PathBox<T>? _box;
    private T _result;

    internal readonly PathBox<T>? Box => _box;

    public static KernelPathBuilder<T> Create() => default;

    public readonly KernelPath<T> Task => _box is null ? new KernelPath<T>(_result) : new KernelPath<T>(_box);

    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine => stateMachine.MoveNext();

    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult(T result)
    {
        if (_box is null) _result = result;
        else _box.Complete(result);
    }

    public readonly void SetException(Exception exception) => ExceptionDispatchInfo.Throw(exception);

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(Frame(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(Frame(ref stateMachine).MoveNextAction);

    /// <summary>The path's frame: at its first wait, a pooled one the state machine (this builder included) is copied into.</summary>
    private PathBox<TStateMachine, T> Frame<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        if (_box is PathBox<TStateMachine, T> known) return known;
        PathBox<TStateMachine, T> box = PathBox<TStateMachine, T>.Rent();
        // Set before the copy: the copy (whose builder this is from now on) must know its frame.
        _box = box;
        box.StateMachine = stateMachine;
        return box;
    }
}
