namespace Twin.Persistence.Codec;

/// <summary>
/// Makes a <c>readonly partial record struct</c> a journaled event: Twin.Codec.Generators gives it
/// <see cref="IJournaledEvent{TSelf}"/> with its <see cref="EventManifest"/> and a Write and Read
/// of its primary constructor's parameters, in order: ints and longs as zigzag varints, bools and
/// enums as one byte (refused on decode outside the enum's members, naming the field), structs
/// with their own Write and Read (CpuMask) by those. Changing the parameters changes the stored
/// layout, so it takes a new <paramref name="version"/>.
/// </summary>
/// <param name="code">The event's code in the journal's manifest column: never shared, never reused.</param>
/// <param name="version">The payload layout's version, 1 to <see cref="EventManifest.MaxVersion"/>.</param>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class JournaledEventAttribute(ushort code, byte version) : Attribute
{
    public ushort Code { get; } = code;

    public byte Version { get; } = version;
}
