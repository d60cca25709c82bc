using System.Text.Json;
using Twin.Checking;

namespace Twin.Simulation.Soak;

/// <summary>A seed's first violations as kept in a campaign row, and read back for the summary.</summary>
public static class ViolationJson
{
    public const int Kept = 5;

    public static string Write(IReadOnlyList<Violation> violations)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (Violation v in violations.Take(Kept))
            {
                w.WriteStartObject();
                WriteFields(w, v);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
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
            foreach (JsonElement e in doc.RootElement.EnumerateArray())
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
