namespace Twin.Persistence.Codec;

/// <summary>
/// Decoders of every registered event type by manifest column, for readers that get a row and
/// must produce the event as an object (Akka's serializer, recovery through Akka's protocol).
/// The typed path (<see cref="IJournaledEvent{TSelf}.Read"/>) needs no table; this one exists for
/// the boxed world. Registration is idempotent; codes are global, like protobuf field numbers.
/// </summary>
public static class EventCodecs
{
    // Copy on write: registrations happen at start-up, lookups on every decoded row.
    private static volatile Dictionary<int, Entry> _byColumn = [];
    private static readonly Lock Gate = new();

    private delegate object Decoder(ReadOnlySpan<byte> payload);

    private sealed record Entry(EventManifest Manifest, Decoder Decode);

    public static void Register<TEvent>() where TEvent : struct, IJournaledEvent<TEvent>
    {
        EventManifest m = TEvent.Manifest;
        lock (Gate)
        {
            if (_byColumn.TryGetValue(m.Column, out Entry? known))
            {
                if (known.Manifest != m) throw new InvalidOperationException($"event manifest {m.Column} is registered as {known.Manifest} and as {m}");
                return;
            }
            _byColumn = new Dictionary<int, Entry>(_byColumn)
            {
                [m.Column] = new Entry(m, static payload =>
                {
                    var reader = new PayloadReader(payload);
                    TEvent e = TEvent.Read(ref reader);
                    reader.EnsureConsumed();
                    return e;
                }),
            };
        }
    }

    /// <summary>The registered manifest of <paramref name="column"/>, or null.</summary>
    public static EventManifest? Find(int column)
    {
        return _byColumn.TryGetValue(column, out Entry? e) ? e.Manifest : null;
    }

    /// <summary>Decodes a payload stored under <paramref name="column"/>.</summary>
    /// <exception cref="CorruptPayloadException">the manifest is unknown, or the payload does not decode.</exception>
    public static object Decode(int column, ReadOnlySpan<byte> payload)
    {
        if (!_byColumn.TryGetValue(column, out Entry? e)) throw new CorruptPayloadException($"unknown event manifest {column} (code {EventManifest.CodeOf(column)} v{EventManifest.VersionOf(column)})");
        return e.Decode(payload);
    }

    /// <summary>
    /// Decodes a stored row's payload, or says exactly why it cannot: an unknown manifest or a
    /// garbled payload is corruption, a known event stored under another version is a format the
    /// build does not read. <paramref name="place"/> names the row.
    /// </summary>
    public static object DecodeRow(int column, ReadOnlySpan<byte> payload, in RowPlace place)
    {
        if (!_byColumn.TryGetValue(column, out Entry? e))
        {
            string where = place.ToString();
            ushort code = EventManifest.CodeOf(column);
            byte version = EventManifest.VersionOf(column);
            foreach (Entry known in _byColumn.Values)
            {
                if (known.Manifest.Code == code)
                {
                    throw new JournalFormatException($"{where}: event {known.Manifest.Name} is stored as v{version}; this build reads v{known.Manifest.Version} only");
                }
            }
            throw new JournalCorruptException($"{where}: unknown event manifest {column} (code {code} v{version})");
        }
        try
        {
            return e.Decode(payload);
        }
        catch (CorruptPayloadException c)
        {
            throw new JournalCorruptException($"{place}: {e.Manifest.Name} payload is corrupt: {c.Message}", c);
        }
    }

    /// <summary>Encodes <paramref name="evt"/> into <paramref name="buffer"/>; returns the payload's length.</summary>
    public static int Encode(IJournaledEvent evt, Span<byte> buffer)
    {
        var writer = new PayloadWriter(buffer);
        evt.Write(ref writer);
        return writer.Length;
    }
}

/// <summary>Where a journal row is, for messages ("URI journal row N (persistence id #seq)"), formatted only when one is written.</summary>
public readonly record struct RowPlace(string Journal, long Ordering, string PersistenceId, long SequenceNr)
{
    public override string ToString() => $"{Journal} journal row {Ordering} ({PersistenceId} #{SequenceNr})";
}
