using Akka.Actor;
using Akka.Serialization;
using Twin.Persistence.Codec;

namespace Twin.Actors.Journal;

/// <summary>
/// Akka's serializer for Twin's journaled events (bound to <see cref="IJournaledEvent"/> in the
/// run's HOCON): the compact binary codec, the manifest column as the string manifest, and a
/// two-byte row check over manifest and payload, so a garbled payload fails loudly. The in-loop
/// journal uses <see cref="Encode"/>, which writes into a caller's buffer instead of a new array.
/// </summary>
public sealed class EventSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>Akka reserves 0-100 for itself.</summary>
    public const int Id = 7417;

    public override int Identifier => Id;

    public override string Manifest(object o) => Column(o).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public override byte[] ToBinary(object obj)
    {
        Span<byte> buffer = stackalloc byte[PayloadLimits.MaxPayloadBytes + RowCheck.Size];
        int length = Encode(obj, buffer);
        int stored = RowCheck.Seal(buffer, length, Column(obj), 0);
        return buffer[..stored].ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!int.TryParse(manifest, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int column))
        {
            throw new CorruptPayloadException($"manifest '{manifest}' is not an event manifest number");
        }
        return EventCodecs.Decode(column, RowCheck.Open(bytes, column, 0));
    }

    /// <summary>Encodes the event's payload (without the row check) into <paramref name="buffer"/>.</summary>
    public static int Encode(object evt, Span<byte> buffer) => EventCodecs.Encode(AsEvent(evt), buffer);

    public static int Column(object evt) => AsEvent(evt).ManifestColumn;

    private static IJournaledEvent AsEvent(object o) =>
        o as IJournaledEvent ?? throw new ArgumentException($"{o.GetType().Name} is not a journaled event", nameof(o));
}
