using Twin.Persistence;
using Twin.Persistence.Codec;

namespace Twin.Actors.Persistence;

/// <summary>Decodes one event type from a journal row and applies it through the actor's registered handler.</summary>
internal abstract class EventBinding
{
    public abstract EventManifest Manifest { get; }

    public abstract void Replay(ReadOnlySpan<byte> payload, in EventMeta meta, List<EventTap> taps);
}

internal sealed class EventBinding<TEvent>(Action<TEvent> apply) : EventBinding
    where TEvent : struct, IJournaledEvent<TEvent>
{
    public readonly Action<TEvent> Apply = apply;

    public override EventManifest Manifest => TEvent.Manifest;

    public override void Replay(ReadOnlySpan<byte> payload, in EventMeta meta, List<EventTap> taps)
    {
        var reader = new PayloadReader(payload);
        TEvent evt = TEvent.Read(ref reader);
        reader.EnsureConsumed();
        Apply(evt);
        foreach (EventTap tap in taps) tap.OnEvent(in meta, in evt);
    }
}

/// <summary>Turns a stored manifest into a binding, or says exactly why it cannot.</summary>
internal static class ManifestCheck
{
    public static EventBinding Resolve(Dictionary<ushort, EventBinding> bindings, int manifest, string where)
    {
        ushort code = EventManifest.CodeOf(manifest);
        byte version = EventManifest.VersionOf(manifest);
        if (!bindings.TryGetValue(code, out EventBinding? binding))
        {
            throw new JournalCorruptException($"{where}: unknown event manifest {manifest} (code {code} v{version})");
        }
        if (binding.Manifest.Version != version)
        {
            throw new JournalFormatException(
                $"{where}: event {binding.Manifest.Name} is stored as v{version}; this build reads v{binding.Manifest.Version} only");
        }
        return binding;
    }
}
