namespace Twin.Persistence.Codec;

/// <summary>
/// Writes an event payload into a caller-owned span: LEB128 varints for unsigned values, zigzag
/// varints for signed ones. Payloads are small (see <see cref="PayloadLimits"/>), so a stack
/// buffer suffices and encoding allocates nothing.
/// </summary>
public ref struct PayloadWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public PayloadWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Length => _position;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    public void WriteByte(byte value)
    {
        if (_position >= _buffer.Length) ThrowFull();
        _buffer[_position++] = value;
    }

    public void WriteBool(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteVarUInt(ulong value)
    {
        while (value >= 0x80)
        {
            WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        WriteByte((byte)value);
    }

    /// <summary>Zigzag encoding, so that small negative ids (-1 for "none") stay one byte.</summary>
    public void WriteVarInt(long value) => WriteVarUInt((ulong)((value << 1) ^ (value >> 63)));

    private static void ThrowFull() =>
        throw new InvalidOperationException($"event payload exceeds {PayloadLimits.MaxPayloadBytes} bytes");
}

/// <summary>Bounds on what one journal row may carry.</summary>
public static class PayloadLimits
{
    /// <summary>Largest encoded event. Events are a handful of ids and flags; 128 leaves room for growth.</summary>
    public const int MaxPayloadBytes = 128;
}
