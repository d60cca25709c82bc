namespace Twin.Persistence.Codec;

/// <summary>
/// Identifies an event type and the version of its payload layout. Journals store it as one
/// integer, <c>code &lt;&lt; 4 | version</c>, so a row costs a byte or two for its manifest; the
/// <c>manifests</c> table of a SQL journal spells the names out for people and tools.
/// Codes are assigned in source, like protobuf field numbers, and are never reused.
/// </summary>
public readonly record struct EventManifest(ushort Code, byte Version, string Name)
{
    public const int MaxVersion = 15;

    /// <summary>The value of the journal's <c>manifest</c> column.</summary>
    public int Column => (Code << 4) | Version;

    public static ushort CodeOf(int column) => (ushort)(column >> 4);

    public static byte VersionOf(int column) => (byte)(column & 0xF);

    public override string ToString() => $"{Name} v{Version}";
}

/// <summary>
/// A journaled event seen as an object (boxed, as Akka.Persistence carries it): its manifest and
/// its encoder. Akka's serializer for Twin's events is bound to this interface.
/// </summary>
public interface IJournaledEvent
{
    /// <summary>The journal's manifest column for this event type.</summary>
    int ManifestColumn { get; }

    void Write(ref PayloadWriter writer);
}

/// <summary>
/// An event that knows its own binary layout. Implemented by sealed record structs, so encoding
/// and decoding go through static dispatch without boxing.
/// </summary>
public interface IJournaledEvent<TSelf> : IJournaledEvent where TSelf : struct, IJournaledEvent<TSelf>
{
    static abstract EventManifest Manifest { get; }

    int IJournaledEvent.ManifestColumn => TSelf.Manifest.Column;

    static abstract TSelf Read(ref PayloadReader reader);
}
