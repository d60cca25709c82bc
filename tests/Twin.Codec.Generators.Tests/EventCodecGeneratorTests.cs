namespace Twin.Codec.Generators.Tests;

/// <summary>The generator's compile errors: each names the event, the field and what to do instead.</summary>
public sealed class EventCodecGeneratorTests
{
    private const string Header = """
        using Twin.Persistence.Codec;
        namespace Sample;
        public enum Color : byte { Red = 1, Green = 2 }
        public readonly record struct Spot(ulong Bits)
        {
            public void Write(ref PayloadWriter w) => w.WriteVarUInt(Bits);
            public static Spot Read(ref PayloadReader r) => new(r.ReadVarUInt());
        }

        """;

    [Fact]
    public void an_event_of_every_supported_field_type_compiles()
    {
        var run = GeneratorRun.Of(Header + "[JournaledEvent(5, 2)] public readonly partial record struct Painted(int Cpu, long Ns, bool Wet, Color Color, Spot Where);");
        Assert.Empty(run.ErrorLines);
        string code = Assert.Single(run.Generated);
        Assert.Contains("Manifest { get; } = new(5, 2, nameof(Painted));", code, StringComparison.Ordinal);
        Assert.Contains("if (color_ < 1) global::Twin.Persistence.Codec.PayloadReader.Refuse(\"Color\", color_, \"a Color\");", code, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public partial record struct Painted(int Cpu);")]
    [InlineData("public readonly record struct Painted(int Cpu);")]
    [InlineData("public readonly partial record struct Painted { public int Cpu { get; init; } }")]
    [InlineData("public sealed partial record Painted(int Cpu);")]
    public void an_event_that_is_not_a_readonly_partial_record_struct_is_refused(string declaration)
    {
        var run = GeneratorRun.Of(Header + "[JournaledEvent(5, 1)] " + declaration);
        Assert.Contains("TWIN001: 'Painted' has [JournaledEvent] but is not a top-level readonly partial record struct with a primary constructor; its codec is generated from the constructor's parameters", run.ErrorLines);
    }

    [Fact]
    public void a_field_of_an_unsupported_type_is_refused_by_name()
    {
        var run = GeneratorRun.Of(Header + "[JournaledEvent(5, 1)] public readonly partial record struct Painted(int Cpu, string Name);");
        Assert.Contains("TWIN002: Field 'Name' of 'Painted' has type 'string', which the journal codec cannot encode: use int, long, bool, a byte-backed enum, or a struct with Write(ref PayloadWriter) and static Read(ref PayloadReader)", run.ErrorLines);
        Assert.Empty(run.Generated);
    }

    [Fact]
    public void a_second_event_with_the_same_code_is_refused()
    {
        var run = GeneratorRun.Of(Header + """
            [JournaledEvent(5, 1)] public readonly partial record struct Painted(int Cpu);
            [JournaledEvent(5, 1)] public readonly partial record struct Dried(int Cpu);
            """);
        Assert.Equal(["TWIN003: Event code 5 of 'Dried' is already the code of 'Painted'; codes are never shared or reused"], run.ErrorLines);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    public void a_version_the_manifest_cannot_hold_is_refused(int version)
    {
        var run = GeneratorRun.Of(Header + $"[JournaledEvent(5, {version})] public readonly partial record struct Painted(int Cpu);");
        Assert.Contains($"TWIN004: 'Painted' has version {version}; a journaled event's version is 1 to 15 (the manifest column keeps it in 4 bits)", run.ErrorLines);
    }

    [Theory]
    [InlineData("public enum Shade { Light, Dark }", "is backed by int, not byte")]
    [InlineData("public enum Shade : byte { Light = 1, Dark = 3 }", "has gaps between 1 and 3")]
    [InlineData("public enum Shade : byte { }", "has no members")]
    public void an_enum_that_is_not_one_checked_byte_is_refused(string shade, string why)
    {
        var run = GeneratorRun.Of(Header + shade + "\n[JournaledEvent(5, 1)] public readonly partial record struct Painted(int Cpu, Shade Shade);");
        Assert.Contains($"TWIN005: Field 'Shade' of 'Painted' has enum type 'Sample.Shade', which {why}; the codec writes an enum as one byte and refuses values outside its members' range", run.ErrorLines);
    }
}
