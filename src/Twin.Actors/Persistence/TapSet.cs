using System.Reflection;
using Twin.Persistence.Codec;

namespace Twin.Actors.Persistence;

/// <summary>One tap's handler for one event type, bound once.</summary>
public delegate void EventHandler<TEvent>(in EventMeta meta, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>;

/// <summary>
/// The taps of a run, called for each event in order. <see cref="EventTap.OnEvent{TEvent}"/> is a
/// generic virtual method, whose every call is a runtime lookup; here each tap's instantiation for
/// an event type is resolved once, into a delegate, the first time that type is published.
/// </summary>
public sealed class TapSet
{
    private static readonly MethodInfo OnEvent = typeof(EventTap).GetMethod(nameof(EventTap.OnEvent))!;

    private readonly List<EventTap> _taps = [];
    private object?[] _byType = new object?[64];

    public int Count => _taps.Count;

    public void Add(EventTap tap)
    {
        _taps.Add(tap);
        Array.Clear(_byType);
    }

    public void AddRange(IEnumerable<EventTap> taps)
    {
        foreach (EventTap t in taps) Add(t);
    }

    /// <summary>Shows <paramref name="evt"/> to every tap, in the order they were added.</summary>
    public void Publish<TEvent>(in EventMeta meta, in TEvent evt) where TEvent : struct, IJournaledEvent<TEvent>
    {
        int id = EventTypeId<TEvent>.Value;
        if (id >= _byType.Length) Array.Resize(ref _byType, Math.Max(id + 1, _byType.Length * 2));
        var handlers = (EventHandler<TEvent>[]?)_byType[id] ?? Bind<TEvent>(id);
        for (int i = 0; i < handlers.Length; i++) handlers[i](in meta, in evt);
    }

    private EventHandler<TEvent>[] Bind<TEvent>(int id) where TEvent : struct, IJournaledEvent<TEvent>
    {
        MethodInfo method = OnEvent.MakeGenericMethod(typeof(TEvent));
        var handlers = new EventHandler<TEvent>[_taps.Count];
        for (int i = 0; i < handlers.Length; i++) handlers[i] = (EventHandler<TEvent>)Delegate.CreateDelegate(typeof(EventHandler<TEvent>), _taps[i], method);
        _byType[id] = handlers;
        return handlers;
    }
}

/// <summary>A small dense id per event type, for array lookups on the hot path.</summary>
internal static class EventTypeId
{
    private static int _next;

    internal static int Next() => Interlocked.Increment(ref _next) - 1;
}

internal static class EventTypeId<T>
{
    public static readonly int Value = EventTypeId.Next();
}
