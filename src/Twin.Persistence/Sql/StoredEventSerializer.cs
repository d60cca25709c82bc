using System.Buffers.Binary;
using Akka.Actor;
using Akka.Serialization;
using Twin.Persistence.Codec;

namespace Twin.Persistence.Sql;

/// <summary>
/// Akka serializer of the SQL journal's rows, bound to <see cref="StoredEvent"/> and
/// <see cref="StoredSnapshot"/> in the storage system's HOCON. An event's bytes are already
/// encoded and sealed by the run's writer, so writing copies nothing; the string manifest is the
/// manifest number, so a row read with plain SQL names its event type (<c>manifests</c> table).
/// </summary>
public sealed class StoredEventSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The <c>identifier</c> column of Twin's rows. Akka reserves 0-100; Twin's in-run serializer is 7417.</summary>
    public const int Id = 7418;

    private const string SnapshotPrefix = "s";

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        StoredEvent e => ManifestColumn.Text(e.Manifest),
        StoredSnapshot s => SnapshotPrefix + ManifestColumn.Text(s.Manifest),
        _ => throw new ArgumentException($"{o.GetType().Name} is not a stored Twin event or snapshot", nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        switch (obj)
        {
            case StoredEvent e:
                return e.Message;
            case StoredSnapshot s:
                var bytes = new byte[16 + s.Payload.Length];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, s.StateHash);
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), s.TimestampNs);
                s.Payload.CopyTo(bytes, 16);
                return bytes;
            default:
                throw new ArgumentException($"{obj.GetType().Name} is not a stored Twin event or snapshot", nameof(obj));
        }
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        bool snapshot = manifest.StartsWith(SnapshotPrefix, StringComparison.Ordinal);
        if (!ManifestColumn.TryParse(snapshot ? manifest[SnapshotPrefix.Length..] : manifest, out int number))
        {
            throw new CorruptPayloadException($"manifest '{manifest}' is not a Twin manifest number");
        }
        if (!snapshot) return new StoredEvent(number, bytes);
        if (bytes.Length < 16) throw new CorruptPayloadException($"snapshot of {bytes.Length} bytes is shorter than its 16-byte header");
        return new StoredSnapshot(number, BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)), bytes[16..]);
    }
}
