using Twin.Persistence.Codec;

namespace Twin.Persistence.Tests;

public sealed class CodecTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(63L)]
    [InlineData(-64L)]
    [InlineData(300L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void VarInt_should_round_trip(long value)
    {
        Span<byte> buf = stackalloc byte[32];
        var w = new PayloadWriter(buf);
        w.WriteVarInt(value);
        w.WriteVarUInt(unchecked((ulong)value));
        var r = new PayloadReader(w.Written);
        Assert.Equal(value, r.ReadVarInt());
        Assert.Equal(unchecked((ulong)value), r.ReadVarUInt());
        Assert.True(r.AtEnd);
    }

    [Fact]
    public void Small_ids_should_take_one_byte_including_minus_one()
    {
        Span<byte> buf = stackalloc byte[16];
        var w = new PayloadWriter(buf);
        w.WriteVarInt(-1);
        w.WriteVarInt(63);
        Assert.Equal(2, w.Length);
    }

    [Fact]
    public void Reader_should_refuse_a_truncated_payload_and_trailing_bytes()
    {
        byte[] truncated = [0x80];
        Assert.Throws<CorruptPayloadException>(() => new PayloadReader(truncated).ReadVarUInt());
        byte[] trailing = [0x01, 0x02];
        Assert.Throws<CorruptPayloadException>(() =>
        {
            var r = new PayloadReader(trailing);
            r.ReadVarUInt();
            r.EnsureConsumed();
        });
        byte[] badBool = [7];
        Assert.Throws<CorruptPayloadException>(() => new PayloadReader(badBool).ReadBool());
    }

    [Fact]
    public void RowCheck_should_detect_a_flipped_bit_and_a_moved_row()
    {
        byte[] row = new byte[8];
        row[0] = 5;
        row[1] = 9;
        int len = RowCheck.Seal(row, 2, manifest: 0x31, sequenceNr: 4);
        Assert.Equal([5, 9], RowCheck.Open(row.AsSpan(0, len), 0x31, 4).ToArray());
        Assert.Throws<CorruptPayloadException>(() => RowCheck.Open(row.AsSpan(0, len), 0x31, 5));
        Assert.Throws<CorruptPayloadException>(() => RowCheck.Open(row.AsSpan(0, len), 0x32, 4));
        row[1] ^= 0x10;
        Assert.Throws<CorruptPayloadException>(() => RowCheck.Open(row.AsSpan(0, len), 0x31, 4));
    }

    [Fact]
    public void Manifest_column_should_pack_code_and_version()
    {
        var m = new EventManifest(12, 3, "SchedSwitched");
        Assert.Equal(12, EventManifest.CodeOf(m.Column));
        Assert.Equal(3, EventManifest.VersionOf(m.Column));
        Assert.Equal("SchedSwitched v3", m.ToString());
    }
}
