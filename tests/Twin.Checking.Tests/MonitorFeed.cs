using Twin.Actors.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Checking.Tests;

/// <summary>Every monitor, fed a hand-written event stream one event at a time (index and time from a counter).</summary>
internal sealed class MonitorFeed(MachineFacts facts)
{
    private long _index;

    public MonitorSet Set { get; } = MonitorSet.All(facts);

    public List<string> Properties => [.. Set.Violations().Select(v => v.Property)];

    public void Feed<T>(T evt) where T : struct, IJournaledEvent<T>
    {
        _index++;
        var meta = new EventMeta("s", _index, _index * 10, _index);
        foreach (EventTap tap in Set.Taps) tap.OnEvent(in meta, in evt);
    }
}
