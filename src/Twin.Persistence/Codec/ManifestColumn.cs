namespace Twin.Persistence.Codec;

/// <summary>
/// The SQL journal's <c>manifest</c> column: the manifest number as decimal text (Akka.Persistence.Sql's
/// string manifest). One rule for every reader: 1-9 decimal digits.
/// </summary>
public static class ManifestColumn
{
    // Manifest numbers are small (code << 4 | version); their texts are made once, not per row.
    private static readonly string?[] s_texts = new string?[1 << 12];

    /// <summary>The column's text for a manifest number.</summary>
    public static string Text(int manifest) =>
        (uint)manifest < (uint)s_texts.Length ? s_texts[manifest] ??= Format(manifest) : Format(manifest);

    /// <summary>Parses the column as text (a driver's string, a serializer's manifest).</summary>
    public static bool TryParse(string text, out int manifest)
    {
        manifest = 0;
        if (text.Length is 0 or > 9) return false;
        foreach (char c in text)
        {
            if (c < '0' || c > '9') return false;
            manifest = manifest * 10 + (c - '0');
        }
        return true;
    }

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

    private static string Format(int manifest) => manifest.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
