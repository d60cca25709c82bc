using System.Reflection;
using Twin.Kernel.Events;
using Twin.Persistence.Codec;

namespace Twin.Kernel.Tests;

/// <summary>
/// Every journaled event type, built from its primary constructor with values chosen by field type,
/// so the codec tests cover each event without naming it (a new event is covered when it is added).
/// </summary>
internal static class EventSamples
{
    public static IReadOnlyList<Type> EventTypes { get; } =
    [
        .. typeof(EventCatalog).Assembly.GetTypes()
            .Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IJournaledEvent<>)))
            .OrderBy(t => t.Name, StringComparer.Ordinal),
    ];

    private static readonly int[] ExtremeInts = [int.MaxValue, -1, 300, int.MinValue, 64, -65, 0];
    private static readonly long[] ExtremeLongs = [long.MinValue, 1L << 40, -22, long.MaxValue, 127];

    /// <summary>Far-off values: both ends of int and long, multi-byte varints, the largest enum member, a three-word mask.</summary>
    public static object Extreme(Type t) => Build(t, (type, i) => type switch
    {
        _ when type == typeof(int) => ExtremeInts[i % ExtremeInts.Length],
        _ when type == typeof(long) => ExtremeLongs[i % ExtremeLongs.Length],
        _ when type == typeof(bool) => i % 2 == 0,
        _ when type == typeof(CpuMask) => new CpuMask(0b101, 0, 1UL << 63, 0),
        _ when type.IsEnum => Enum.GetValues(type).Cast<object>().Max()!,
        _ => throw new NotSupportedException($"{t.Name}: no sample for {type.Name}"),
    });

    /// <summary>Values of a typical run: small ids, the smallest enum member, an empty mask.</summary>
    public static object Typical(Type t) => Build(t, (type, i) => type switch
    {
        _ when type == typeof(int) => i + 1,
        _ when type == typeof(long) => i * 1000L,
        _ when type == typeof(bool) => i % 2 == 1,
        _ when type == typeof(CpuMask) => CpuMask.Empty,
        _ when type.IsEnum => Enum.GetValues(type).Cast<object>().Min()!,
        _ => throw new NotSupportedException($"{t.Name}: no sample for {type.Name}"),
    });

    public static ParameterInfo[] Fields(Type t) => PrimaryConstructor(t).GetParameters();

    public static object Build(Type t, Func<Type, int, object> value) =>
        PrimaryConstructor(t).Invoke([.. Fields(t).Select((p, i) => value(p.ParameterType, i))]);

    public static byte[] Encode(object evt) => (byte[])Call(nameof(EncodeAs), evt.GetType(), evt);

    /// <summary>Decodes a whole payload as <paramref name="t"/>; a <see cref="CorruptPayloadException"/> comes out unwrapped.</summary>
    public static object Decode(Type t, byte[] payload) => Call(nameof(DecodeAs), t, payload);

    private static ConstructorInfo PrimaryConstructor(Type t) =>
        t.GetConstructors().Single(c => c.GetParameters().Length > 0 && c.GetParameters()[0].ParameterType != t);

    private static object Call(string method, Type t, object arg)
    {
        try
        {
            return typeof(EventSamples).GetMethod(method, BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(t).Invoke(null, [arg])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    private static byte[] EncodeAs<T>(T evt) where T : struct, IJournaledEvent<T>
    {
        Span<byte> buf = stackalloc byte[PayloadLimits.MaxPayloadBytes];
        var w = new PayloadWriter(buf);
        evt.Write(ref w);
        return w.Written.ToArray();
    }

    private static object DecodeAs<T>(byte[] payload) where T : struct, IJournaledEvent<T>
    {
        var r = new PayloadReader(payload);
        T evt = T.Read(ref r);
        r.EnsureConsumed();
        return evt;
    }
}
