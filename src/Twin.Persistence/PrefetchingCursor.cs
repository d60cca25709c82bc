using System.Collections.Concurrent;
using Twin.Persistence.Codec;

namespace Twin.Persistence;

/// <summary>
/// Reads a cursor ahead on a thread of its own, so a whole-run replay applies one chunk of rows
/// while the next is read from the database (on this 2-core machine the read alone runs at about
/// twice the replay's pace, and the two used to take turns). Rows are copied into reused chunks:
/// nothing is allocated per row. A read error reaches the consumer where it happened, after every
/// row before it, with its own message (naming the row).
/// </summary>
public sealed class PrefetchingCursor : IJournalCursor
{
    private const int ChunkRows = 4096;
    private const int Chunks = 3;

    private readonly IJournalCursor _inner;
    private readonly BlockingCollection<Chunk> _full = new(Chunks);
    private readonly BlockingCollection<Chunk> _free = new(Chunks);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _reader;
    private Chunk? _current;
    private int _index = -1;
    private bool _done;

    public PrefetchingCursor(IJournalCursor inner)
    {
        _inner = inner;
        for (int i = 0; i < Chunks; i++) _free.Add(new Chunk());
        _reader = new Thread(ReadAhead) { IsBackground = true, Name = "twin-journal-read" };
        _reader.Start();
    }

    public JournalEntry Current
    {
        get
        {
            ref Row row = ref _current!.Rows[_index];
            return new JournalEntry(row.Ordering, row.PersistenceId, row.SequenceNr, row.Manifest, row.TimestampNs, _current.Bytes.AsSpan(row.Offset, row.Length));
        }
    }

    public bool MoveNext()
    {
        if (_done) return false;
        while (_current is null || ++_index >= _current.Count)
        {
            if (_current is not null)
            {
                if (_current.Failure is { } failure)
                {
                    _done = true;
                    throw failure;
                }
                if (_current.Last)
                {
                    _done = true;
                    return false;
                }
                _current.Clear();
                _free.Add(_current);
            }
            _current = _full.Take();
            _index = -1;
        }
        return true;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _reader.Join();
        _inner.Dispose();
        _stop.Dispose();
    }

    private void ReadAhead()
    {
        try
        {
            while (true)
            {
                Chunk chunk = _free.Take(_stop.Token);
                try
                {
                    while (chunk.Count < ChunkRows && _inner.MoveNext()) chunk.Add(_inner.Current);
                    chunk.Last = chunk.Count < ChunkRows;
                }
                catch (Exception e)
                {
                    chunk.Failure = e;
                }
                _full.Add(chunk, _stop.Token);
                if (chunk.Last || chunk.Failure is not null) return;
            }
        }
        catch (OperationCanceledException)
        {
            // The consumer stopped early (Dispose): nothing more to read.
        }
    }

    private struct Row
    {
        public long Ordering;
        public string PersistenceId;
        public long SequenceNr;
        public int Manifest;
        public long TimestampNs;
        public int Offset;
        public int Length;
    }

    private sealed class Chunk
    {
        public readonly Row[] Rows = new Row[ChunkRows];
        public byte[] Bytes = new byte[ChunkRows * 32];
        public int Count;
        public int BytesUsed;
        public bool Last;
        public Exception? Failure;

        public void Add(JournalEntry e)
        {
            if (BytesUsed + e.Payload.Length > Bytes.Length)
            {
                Array.Resize(ref Bytes, Math.Max(Bytes.Length * 2, BytesUsed + PayloadLimits.MaxPayloadBytes));
            }
            e.Payload.CopyTo(Bytes.AsSpan(BytesUsed));
            Rows[Count++] = new Row
            {
                Ordering = e.Ordering,
                PersistenceId = e.PersistenceId,
                SequenceNr = e.SequenceNr,
                Manifest = e.Manifest,
                TimestampNs = e.TimestampNs,
                Offset = BytesUsed,
                Length = e.Payload.Length,
            };
            BytesUsed += e.Payload.Length;
        }

        public void Clear()
        {
            Count = 0;
            BytesUsed = 0;
            Last = false;
            Failure = null;
        }
    }
}
