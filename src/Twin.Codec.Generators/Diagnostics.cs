using Microsoft.CodeAnalysis;

namespace Twin.Codec.Generators;

/// <summary>What the generator refuses, as compile errors: an event it cannot encode would fail only at run time.</summary>
internal static class Diagnostics
{
    private const string Category = "Twin.Codec";

    public static readonly DiagnosticDescriptor NotARecordStruct = Error(
        "TWIN001", "A journaled event must be a readonly partial record struct with a primary constructor",
        "'{0}' has [JournaledEvent] but is not a top-level readonly partial record struct with a primary constructor; its codec is generated from the constructor's parameters");

    public static readonly DiagnosticDescriptor UnsupportedField = Error(
        "TWIN002", "A journaled event field has a type the codec cannot encode",
        "Field '{0}' of '{1}' has type '{2}', which the journal codec cannot encode: use int, long, bool, a byte-backed enum, or a struct with Write(ref PayloadWriter) and static Read(ref PayloadReader)");

    public static readonly DiagnosticDescriptor DuplicateCode = Error(
        "TWIN003", "Two journaled events have the same code",
        "Event code {0} of '{1}' is already the code of '{2}'; codes are never shared or reused");

    public static readonly DiagnosticDescriptor BadManifest = Error(
        "TWIN004", "A journaled event's version is out of range",
        "'{0}' has version {1}; a journaled event's version is 1 to 15 (the manifest column keeps it in 4 bits)");

    public static readonly DiagnosticDescriptor BadEnum = Error(
        "TWIN005", "A journaled event field's enum cannot be written as one byte with a range check",
        "Field '{0}' of '{1}' has enum type '{2}', which {3}; the codec writes an enum as one byte and refuses values outside its members' range");

    private static readonly DiagnosticDescriptor[] All = [NotARecordStruct, UnsupportedField, DuplicateCode, BadManifest, BadEnum];

    public static DiagnosticDescriptor ById(string id) => Array.Find(All, d => d.Id == id);

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
