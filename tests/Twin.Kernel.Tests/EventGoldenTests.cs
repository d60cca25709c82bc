using System.Globalization;
using Twin.Persistence.Codec;

namespace Twin.Kernel.Tests;

/// <summary>
/// The payload layout of every event, pinned (EventGolden.txt): the bytes as the hand-written
/// codecs wrote them before the codecs were generated, which journals already written depend on,
/// so a bytes line may change only with the event's version; and how a corrupt flag or enum byte
/// is refused, naming the field. (The hand-written codecs let 0 through for the ten enums without
/// a 0 member, and said "boolean field holds 2" without the field; the generated ones do not.)
/// </summary>
public sealed class EventGoldenTests
{
    [Fact]
    public void every_event_encodes_and_refuses_corrupt_fields_as_pinned()
    {
        string[] pinned = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "EventGolden.txt"));
        Assert.Equal(pinned, EventSamples.EventTypes.SelectMany(Lines).ToArray());
    }

    [Fact]
    public void every_event_round_trips()
    {
        foreach (Type t in EventSamples.EventTypes)
        {
            foreach (object evt in new[] { EventSamples.Extreme(t), EventSamples.Typical(t) })
            {
                Assert.Equal(evt, EventSamples.Decode(t, EventSamples.Encode(evt)));
            }
        }
    }

    /// <summary>Both samples' bytes, then for each flag or enum field the outcome of a byte just past its range and of 0.</summary>
    private static IEnumerable<string> Lines(Type t)
    {
        object extreme = EventSamples.Extreme(t);
        object typical = EventSamples.Typical(t);
        yield return $"{t.Name} extreme {Convert.ToHexString(EventSamples.Encode(extreme))}";
        yield return $"{t.Name} typical {Convert.ToHexString(EventSamples.Encode(typical))}";
        var fields = EventSamples.Fields(t);
        for (int i = 0; i < fields.Length; i++)
        {
            Type type = fields[i].ParameterType;
            if (type != typeof(bool) && !type.IsEnum) continue;
            byte pastEnd = type == typeof(bool) ? (byte)2 : (byte)(Convert.ToByte(Enum.GetValues(type).Cast<object>().Max(), CultureInfo.InvariantCulture) + 1);
            foreach (byte bad in new[] { pastEnd, (byte)0 })
            {
                yield return $"{t.Name} {fields[i].Name}={bad} {Outcome(t, Corrupt(typical, i, bad))}";
            }
        }
    }

    /// <summary>The typical sample's payload with field <paramref name="field"/>'s byte replaced by <paramref name="bad"/>.</summary>
    private static byte[] Corrupt(object evt, int field, byte bad)
    {
        Span<byte> buf = stackalloc byte[PayloadLimits.MaxPayloadBytes];
        var w = new PayloadWriter(buf);
        var fields = EventSamples.Fields(evt.GetType());
        for (int i = 0; i < fields.Length; i++)
        {
            object value = evt.GetType().GetProperty(fields[i].Name!)!.GetValue(evt)!;
            switch (value)
            {
                case int v: w.WriteVarInt(v); break;
                case long v: w.WriteVarInt(v); break;
                case CpuMask m: m.Write(ref w); break;
                default: w.WriteByte(i == field ? bad : Convert.ToByte(value, CultureInfo.InvariantCulture)); break;
            }
        }
        return w.Written.ToArray();
    }

    private static string Outcome(Type t, byte[] payload)
    {
        try
        {
            return $"decodes as {EventSamples.Decode(t, payload)}";
        }
        catch (CorruptPayloadException e)
        {
            return $"refused: {e.Message}";
        }
    }
}
