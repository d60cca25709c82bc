using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Twin.Persistence.Codec;

/// <summary>
/// Reads what <see cref="PayloadWriter"/> wrote. Every read is bounds-checked: a truncated or
/// garbled payload raises <see cref="CorruptPayloadException"/> instead of decoding nonsense.
/// </summary>
public ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public PayloadReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly bool AtEnd => _position == _buffer.Length;

    public byte ReadByte()
    {
        if (_position >= _buffer.Length) throw new CorruptPayloadException("payload ends early");
        return _buffer[_position++];
    }

    public bool ReadBool()
    {
        byte b = ReadByte();
        if (b > 1) throw new CorruptPayloadException($"boolean field holds {b}");
        return b == 1;
    }

    /// <summary>
    /// A flag or enum byte, refused above <paramref name="max"/> as
    /// "<paramref name="field"/> = 7 is not <paramref name="what"/>" (the generated event codecs' read).
    /// </summary>
    public byte ReadByte(byte max, string field, string what)
    {
        byte b = ReadByte();
        if (b > max) Refuse(field, b, what);
        return b;
    }

    /// <summary>Refuses a field's decoded value. Out of line, so that no read path carries the message's formatting.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Refuse(string field, long value, string what) =>
        throw new CorruptPayloadException($"{field} = {value} is not {what}");

    public ulong ReadVarUInt()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new CorruptPayloadException("varint longer than 10 bytes");
    }

    public long ReadVarInt()
    {
        ulong raw = ReadVarUInt();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>A signed varint that must fit an int (ids, cpu numbers).</summary>
    public int ReadInt32()
    {
        long v = ReadVarInt();
        if (v < int.MinValue || v > int.MaxValue) ThrowTooWide(v);
        return (int)v;
    }

    // Out of line: the formatted message would keep this hot read from being inlined.
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTooWide(long v) => throw new CorruptPayloadException($"value {v} does not fit 32 bits");

    /// <summary>Called after the last field: trailing bytes mean the row is not what its manifest says.</summary>
    public readonly void EnsureConsumed()
    {
        if (!AtEnd) throw new CorruptPayloadException($"{_buffer.Length - _position} unexpected trailing bytes");
    }
}

/// <summary>A payload could not be decoded. The journal reader adds which row it was.</summary>
public sealed class CorruptPayloadException(string message) : Exception(message);
