using System.Text.Json;
using Twin.Checking;

namespace Twin.Simulation.Soak;

/// <summary>A seed's first violations as kept in a campaign row, and read back for the summary.</summary>
public static class ViolationJson
{
    public const int Kept = 5;

    /// <summary>
    /// The first violations, as an array; with <paramref name="coverage"/>, an object
    /// <c>{"violations": [...], "coverage": {"catalog": HASH, "counts": [...]}}</c>: the counts in
    /// <see cref="CoveragePoints"/>' order, which the catalog's hash names (a campaign's seeds are
    /// all of one code version).
    /// </summary>
    public static string Write(IReadOnlyList<Violation> violations, Coverage? coverage = null)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            if (coverage is not null)
            {
                w.WriteStartObject();
                w.WritePropertyName("violations");
            }
            w.WriteStartArray();
            foreach (Violation v in violations.Take(Kept))
            {
                w.WriteStartObject();
                WriteFields(w, v);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (coverage is not null)
            {
                w.WriteStartObject("coverage");
                w.WriteString("catalog", CoveragePoints.CatalogHash);
                w.WriteStartArray("counts");
                for (int i = 0; i < CoveragePoints.Count; i++) w.WriteNumberValue(coverage[i]);
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Adds the coverage a stored result holds to <paramref name="sum"/>; false when it holds none of this build's catalog.</summary>
    public static bool AddCoverage(string json, Coverage sum, string where)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("coverage", out JsonElement c)) return false;
            if (c.GetProperty("catalog").GetString() != CoveragePoints.CatalogHash) return false;
            int i = 0;
            foreach (JsonElement n in c.GetProperty("counts").EnumerateArray()) sum.Add(i++, n.GetInt64());
            return true;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException)
        {
            throw new Persistence.JournalCorruptException($"{where}: the stored coverage is not readable ({e.Message})", e);
        }
    }

    /// <summary>A violation's fields, inside an object the caller opened: the same in every JSON Twin prints or stores.</summary>
    public static void WriteFields(Utf8JsonWriter w, Violation v)
    {
        w.WriteString("property", v.Property);
        w.WriteNumber("timeNs", v.TimeNs);
        w.WriteNumber("cpu", v.Cpu);
        w.WriteNumber("mm", v.Mm);
        w.WriteNumber("eventIndex", v.EventIndex);
        w.WriteNumber("task", v.Task);
        w.WriteStartArray("window");
        w.WriteNumberValue(v.WindowStart);
        w.WriteNumberValue(v.EventIndex);
        w.WriteEndArray();
        w.WriteString("message", v.Message);
        w.WriteString("guarantee", v.Guarantee);
    }

    /// <exception cref="Persistence.JournalCorruptException">the stored text is not what <see cref="Write"/> writes.</exception>
    public static IReadOnlyList<Violation> Read(string json, string where)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            var list = new List<Violation>();
            JsonElement array = doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.GetProperty("violations") : doc.RootElement;
            foreach (JsonElement e in array.EnumerateArray())
            {
                list.Add(new Violation(e.GetProperty("property").GetString()!, e.GetProperty("timeNs").GetInt64(), e.GetProperty("cpu").GetInt32(),
                    e.GetProperty("mm").GetInt32(), e.GetProperty("eventIndex").GetInt64(), e.GetProperty("message").GetString()!)
                {
                    Task = e.GetProperty("task").GetInt32(),
                    WindowStart = e.GetProperty("window")[0].GetInt64(),
                    Guarantee = e.GetProperty("guarantee").GetString()!,
                });
            }
            return list;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new Persistence.JournalCorruptException($"{where}: the stored violations are not readable ({e.Message})", e);
        }
    }
}
