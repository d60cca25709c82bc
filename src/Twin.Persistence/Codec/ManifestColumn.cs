namespace Twin.Persistence.Codec;

/// <summary>The SQL journal's <c>manifest</c> column: the manifest number as decimal text (Akka.Persistence.Sql's string manifest).</summary>
public static class ManifestColumn
{
    /// <summary>Parses the column's UTF-8 bytes without allocating; false unless it is 1-9 decimal digits.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out int manifest)
    {
        manifest = 0;
        if (utf8.Length is 0 or > 9) return false;
        foreach (byte b in utf8)
        {
            if (b < (byte)'0' || b > (byte)'9') return false;
            manifest = manifest * 10 + (b - '0');
        }
        return true;
    }
}
