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
/// A path that waits lives in a frame of its own (<see cref="PathBox{T}"/>), taken from its CPU's
/// pool (<see cref="PathPool"/>) and put back when the path returns: once the pool is warm, running
/// a path allocates nothing.
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PathAwaiter<T> GetAwaiter() => new(_box, _version, _result);
}

/// <summary>No value: the result of a <see cref="KernelPath"/>.</summary>
internal readonly struct Unit;

/// <summary>Awaits a kernel path: at once when it finished, else when it returns.</summary>
internal readonly struct PathAwaiter<T> : IPathAwaiter
{
    private readonly PathBox<T>? _box;
    private readonly int _version;
    private readonly T _result;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal PathAwaiter(PathBox<T>? box, int version, T result = default!)
    {
        _box = box;
        _version = version;
        _result = result;
    }

    public bool IsCompleted
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _box is null || Live.IsCompleted;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T GetResult() => _box is null ? _result : Live.Result;

    public void OnCompleted(Action continuation) => Live.Then(continuation);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void UnsafeOnCompleted(Action continuation) => Live.Then(continuation);

    /// <summary>The awaited path's frame came from its CPU's pool: the awaiting path's comes from there too.</summary>
    public PathPool Pool
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _box!.Pool;
    }

    private PathBox<T> Live
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Invariant.Assert(_box!.Version == _version, "a kernel path is awaited once, before its frame is reused");
            return _box;
        }
    }
}

/// <summary>
/// What the awaitables of a kernel path have in common: each knows the pool of its CPU, so that a
/// path that waits takes its frame from there (the builder asks the awaiter; no thread-static).
/// </summary>
internal interface IPathAwaiter : ICriticalNotifyCompletion
{
    PathPool Pool { get; }
}

/// <summary>
/// The frames of the paths that waited on one CPU, kept for reuse: a free list per path method.
/// One CPU's paths run on its run loop's thread only, so the pool needs no lock and no
/// thread-static (soak workers, each on a thread of its own, have CPUs of their own).
/// </summary>
internal sealed class PathPool
{
    private static int s_methods;

    // Slots rather than a PathFrame?[]: a ref to an element of an array of a class type costs a
    // covariance check; to a struct's field, none.
    private FreeList[] _free = new FreeList[64];

    /// <summary>A number for each path method's frame type, an index into every pool's free lists.</summary>
    internal static int NextMethod() => Interlocked.Increment(ref s_methods) - 1;

    /// <summary>The free list of path method <paramref name="method"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref PathFrame? Free(int method)
    {
        FreeList[] free = _free;
        if ((uint)method < (uint)free.Length) return ref free[method].Head;
        return ref Grow(method);
    }

    private ref PathFrame? Grow(int method)
    {
        Array.Resize(ref _free, Math.Max(method + 1, 2 * _free.Length));
        return ref _free[method].Head;
    }

    private struct FreeList
    {
        public PathFrame? Head;
    }
}

/// <summary>A pooled frame, linked in its pool's free list while unused.</summary>
internal abstract class PathFrame
{
    internal PathFrame? NextFree;
}

/// <summary>The frame of a path that waited: its state machine, its result, and who waits for it.</summary>
internal abstract class PathBox<T> : PathFrame
{
    private Action? _then;

    /// <summary>The pool of the CPU whose path this frame holds (it goes back there).</summary>
    internal PathPool Pool { get; private protected set; } = null!;

    /// <summary>Counts the frame's uses, so that a stale handle to a reused frame is caught.</summary>
    internal int Version { get; private protected set; }

    internal bool IsCompleted { get; private protected set; }

    internal T Result { get; private set; } = default!;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    // This path method's free list in every CPU's pool.
    private static readonly int s_method = PathPool.NextMethod();

    private PathBox() => MoveNextAction = MoveNext;

    public TStateMachine StateMachine = default!;

    /// <summary>Resumes the path (made once per frame, so a wait allocates nothing).</summary>
    public Action MoveNextAction { get; }

    private void MoveNext() => StateMachine.MoveNext();

    // Out of line: a path's first wait takes a frame, its later waits find it; inlined, the
    // take would be copied into every await of a path method.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static PathBox<TStateMachine, T> Rent(PathPool pool)
    {
        ref PathFrame? free = ref pool.Free(s_method);
        PathBox<TStateMachine, T>? box = Unsafe.As<PathBox<TStateMachine, T>?>(free);
        if (box is null) box = new PathBox<TStateMachine, T>();
        else
        {
            free = box.NextFree;
            box.NextFree = null;
        }
        box.Pool = pool;
        box.IsCompleted = false;
        box.Version++;
        return box;
    }

    private protected override void Recycle()
    {
        StateMachine = default!;
        ref PathFrame? free = ref Pool.Free(s_method);
        NextFree = free;
        free = this;
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

    public readonly void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
        KernelPathBuilder<Unit>.NotAPathWait<TAwaiter>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : IPathAwaiter where TStateMachine : IAsyncStateMachine =>
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

    public readonly void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
        NotAPathWait<TAwaiter>();

    internal static void NotAPathWait<TAwaiter>() =>
        throw new NotSupportedException($"a kernel path awaits only its CPU's waits and other paths, not a {typeof(TAwaiter).Name}");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : IPathAwaiter where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(Frame(ref stateMachine, awaiter.Pool).MoveNextAction);

    /// <summary>The path's frame: at its first wait, one from its CPU's pool the state machine (this builder included) is copied into.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PathBox<TStateMachine, T> Frame<TStateMachine>(ref TStateMachine stateMachine, PathPool pool) where TStateMachine : IAsyncStateMachine
    {
        if (_box is not null) return Unsafe.As<PathBox<TStateMachine, T>>(_box);
        PathBox<TStateMachine, T> box = PathBox<TStateMachine, T>.Rent(pool);
        // Set before the copy: the copy (whose builder this is from now on) must know its frame.
        _box = box;
        box.StateMachine = stateMachine;
        return box;
    }
}
