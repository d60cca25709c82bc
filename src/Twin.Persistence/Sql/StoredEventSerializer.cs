using Akka.Actor;
using Akka.Serialization;
using Twin.Persistence.Codec;

namespace Twin.Persistence.Sql;

/// <summary>
/// Akka serializer of the SQL journal's rows, bound to <see cref="StoredEvent"/> in the storage
/// system's HOCON. An event's bytes are already encoded and sealed by the run's writer, so
/// writing copies nothing; the string manifest is the manifest number, so a row read with plain
/// SQL names its event type (<c>manifests</c> table).
/// </summary>
public sealed class StoredEventSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The <c>identifier</c> column of Twin's rows. Akka reserves 0-100; Twin's in-run serializer is 7417.</summary>
    public const int Id = 7418;

    public override int Identifier => Id;

    public override string Manifest(object o) => ManifestColumn.Text(AsStored(o).Manifest);

    public override byte[] ToBinary(object obj) => AsStored(obj).Message;

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!ManifestColumn.TryParse(manifest, out int number))
        {
            throw new CorruptPayloadException($"manifest '{manifest}' is not a Twin manifest number");
        }
        return new StoredEvent(number, bytes);
    }

    private static StoredEvent AsStored(object o) =>
        o as StoredEvent ?? throw new ArgumentException($"{o.GetType().Name} is not a stored Twin event", nameof(o));
}
