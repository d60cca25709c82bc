using Twin.Persistence.Memory;

namespace Twin.Persistence.Tests;

public sealed class PrefetchingCursorTests
{
    /// <summary>Rows 1..n of one stream, payload = the sequence number's low byte, as a cursor to wrap; throws at <paramref name="failAt"/> if given.</summary>
    private sealed class CountingCursor(int rows, int failAt = -1) : IJournalCursor
    {
        private readonly byte[] _payload = new byte[3];
        private int _n;

        public JournalEntry Current => new(_n, "1:cpu-0", _n, 0x11, _n * 10L, _payload.AsSpan(0, 1 + _n % 3));

        public bool Disposed { get; private set; }

        public bool MoveNext()
        {
            if (_n == rows) return false;
            _n++;
            if (_n == failAt) throw new JournalCorruptException($"row {_n} is corrupt");
            _payload[0] = (byte)_n;
            return true;
        }

        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void Every_row_arrives_in_order_with_its_payload_across_many_chunks()
    {
        using var cursor = new PrefetchingCursor(new CountingCursor(20_001));
        long expected = 0;
        while (cursor.MoveNext())
        {
            JournalEntry e = cursor.Current;
            expected++;
            Assert.Equal(expected, e.SequenceNr);
            Assert.Equal(expected * 10, e.TimestampNs);
            Assert.Equal(1 + (int)(expected % 3), e.Payload.Length);
            Assert.Equal((byte)expected, e.Payload[0]);
        }
        Assert.Equal(20_001, expected);
        Assert.False(cursor.MoveNext());
    }

    [Fact]
    public void A_read_error_arrives_after_every_row_before_it()
    {
        using var cursor = new PrefetchingCursor(new CountingCursor(10_000, failAt: 5_000));
        int read = 0;
        var e = Assert.Throws<JournalCorruptException>(() =>
        {
            while (cursor.MoveNext()) read++;
        });
        Assert.Equal(4_999, read);
        Assert.Contains("row 5000", e.Message);
    }

    [Fact]
    public void Stopping_early_releases_the_reader_and_the_inner_cursor()
    {
        var inner = new CountingCursor(1_000_000);
        var cursor = new PrefetchingCursor(inner);
        Assert.True(cursor.MoveNext());
        cursor.Dispose();
        Assert.True(inner.Disposed);
    }

    [Fact]
    public void An_empty_run_reads_as_empty()
    {
        using var cursor = new PrefetchingCursor(new MemoryJournal().ReadMessages("1:x", 1, 10, 10));
        Assert.False(cursor.MoveNext());
    }
}
