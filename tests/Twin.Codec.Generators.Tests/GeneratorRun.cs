using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Twin.Persistence.Codec;

namespace Twin.Codec.Generators.Tests;

/// <summary>One compilation of a source through <see cref="EventCodecGenerator"/>: what it generated and every error after it ran.</summary>
internal sealed record GeneratorRun(ImmutableArray<string> Generated, ImmutableArray<Diagnostic> Errors)
{
    private static readonly MetadataReference[] References =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(PayloadWriter).Assembly.Location),
    ];

    public static GeneratorRun Of(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Events",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: "Events.cs")],
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(new EventCodecGenerator())
            .RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out _);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        return new GeneratorRun(
            [.. result.GeneratedSources.Select(s => s.SourceText.ToString())],
            [.. output.GetDiagnostics().Concat(result.Diagnostics).Where(d => d.Severity == DiagnosticSeverity.Error).Distinct()]);
    }

    /// <summary>The ids of the errors, in order, with the message of each.</summary>
    public IEnumerable<string> ErrorLines => Errors.Select(d => $"{d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}");
}
