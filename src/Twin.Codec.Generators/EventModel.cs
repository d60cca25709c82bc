using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Twin.Codec.Generators;

/// <summary>One <c>[JournaledEvent]</c> record struct, reduced to what the emitter needs: plain values, so the pipeline can cache it.</summary>
internal sealed record EventModel(
    string Namespace,
    string Name,
    int Code,
    int Version,
    EquatableArray<FieldModel> Fields,
    SourceSpot Spot,
    EquatableArray<Problem> Problems);

internal enum FieldKind
{
    /// <summary>A zigzag varint read back as an int, refused if it does not fit.</summary>
    Int32,

    /// <summary>A zigzag varint.</summary>
    Int64,

    /// <summary>A byte, 0 or 1.</summary>
    Bool,

    /// <summary>A byte-backed enum as its byte, refused outside [<see cref="FieldModel.Min"/>, <see cref="FieldModel.Max"/>].</summary>
    Enum,

    /// <summary>A struct with its own <c>Write(ref PayloadWriter)</c> and <c>static Read(ref PayloadReader)</c> (CpuMask).</summary>
    SelfCoded,
}

/// <summary>A primary-constructor parameter: a field of the payload, in declaration order.</summary>
/// <param name="Type">The fully qualified type, for enums and self-coded structs.</param>
/// <param name="TypeName">The type's simple name, for error messages.</param>
internal sealed record FieldModel(string Name, FieldKind Kind, string Type, string TypeName, int Min, int Max);

/// <summary>A place in source, kept as values (a <see cref="Location"/> holds its syntax tree alive).</summary>
internal sealed record SourceSpot(string Path, TextSpan Span, LinePositionSpan Lines)
{
    public static SourceSpot Of(Location location) =>
        new(location.SourceTree?.FilePath ?? "", location.SourceSpan, location.GetLineSpan().Span);

    public Location ToLocation() => Location.Create(Path, Span, Lines);
}

/// <summary>A diagnostic to report: which one, where, and its message's arguments.</summary>
internal sealed record Problem(string Id, SourceSpot Spot, EquatableArray<string> Args)
{
    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Diagnostics.ById(Id), Spot.ToLocation(), [.. Args.Items]);
}
