using Twin.Persistence.Codec;

namespace Twin.Persistence;

/// <summary>
/// A reusable buffer of rows waiting to be committed: fixed arrays, filled by the simulation
/// thread, drained by the committing thread, then recycled. Nothing here allocates per row.
/// </summary>
internal sealed class RowBatch
{
    internal struct Row
    {
        public int Stream;
        public long SequenceNr;
        public int Manifest;
        public long TimestampNs;
        public int Offset;
        public int Length;
        /// <summary>A run checkpoint rather than an event: <see cref="SequenceNr"/> holds the event count.</summary>
        public bool IsCheckpoint;
        public ulong StateHash;
    }

    public readonly Row[] Rows;
    public readonly byte[] Bytes;
    public int Count;
    public int BytesUsed;
    public int EventCount;

    public RowBatch(int capacityRows)
    {
        Rows = new Row[capacityRows];
        Bytes = new byte[capacityRows * (PayloadLimits.MaxPayloadBytes + RowCheck.Size)];
    }

    public bool IsFull => Count == Rows.Length;

    public void Clear()
    {
        Count = 0;
        BytesUsed = 0;
        EventCount = 0;
    }

    public ReadOnlySpan<byte> PayloadOf(in Row row) => Bytes.AsSpan(row.Offset, row.Length);
}
