namespace Twin.Persistence.Codec;

/// <summary>
/// A 16-bit check over (manifest, sequence number, payload) stored as the last two payload
/// bytes of every journal row. It makes a garbled or swapped row fail loudly on replay with its
/// row number instead of decoding into plausible but wrong state. FNV-1a folded to 16 bits:
/// cheap enough for the write path, and a random corruption slips through once in 65 536.
/// </summary>
public static class RowCheck
{
    public const int Size = 2;

    public static ushort Compute(int manifest, long sequenceNr, ReadOnlySpan<byte> payload)
    {
        ulong h = 14695981039346656037UL;
        h = Mix(h, (ulong)manifest);
        h = Mix(h, (ulong)sequenceNr);
        foreach (byte b in payload)
        {
            h = (h ^ b) * 1099511628211UL;
        }
        return (ushort)(h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48));
    }

    private static ulong Mix(ulong h, ulong v)
    {
        for (int i = 0; i < 8; i++)
        {
            h = (h ^ (byte)v) * 1099511628211UL;
            v >>= 8;
        }
        return h;
    }

    /// <summary>Appends the check to an encoded payload; returns the stored length.</summary>
    public static int Seal(Span<byte> row, int payloadLength, int manifest, long sequenceNr)
    {
        ushort check = Compute(manifest, sequenceNr, row[..payloadLength]);
        row[payloadLength] = (byte)check;
        row[payloadLength + 1] = (byte)(check >> 8);
        return payloadLength + Size;
    }

    /// <summary>Verifies a stored row and returns the payload without its check.</summary>
    public static ReadOnlySpan<byte> Open(ReadOnlySpan<byte> stored, int manifest, long sequenceNr)
    {
        if (stored.Length < Size) throw new CorruptPayloadException($"stored payload is {stored.Length} bytes, shorter than its check");
        ReadOnlySpan<byte> payload = stored[..^Size];
        ushort expected = (ushort)(stored[^2] | (stored[^1] << 8));
        ushort actual = Compute(manifest, sequenceNr, payload);
        if (expected != actual) throw new CorruptPayloadException($"row check mismatch (stored {expected:x4}, computed {actual:x4})");
        return payload;
    }
}
