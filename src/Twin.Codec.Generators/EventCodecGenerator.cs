using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Twin.Codec.Generators;

/// <summary>
/// Generates <c>IJournaledEvent</c>'s Manifest, Write and Read for every record struct marked
/// <c>[JournaledEvent(code, version)]</c>, from its primary constructor, and refuses at compile
/// time what the journal could not store (see <see cref="Diagnostics"/>).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class EventCodecGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<EventModel> events = context.SyntaxProvider.ForAttributeWithMetadataName(
            "Twin.Persistence.Codec.JournaledEventAttribute",
            static (node, _) => node is TypeDeclarationSyntax,
            EventModelBuilder.Build);

        context.RegisterSourceOutput(events, static (spc, e) =>
        {
            foreach (Problem p in e.Problems) spc.ReportDiagnostic(p.ToDiagnostic());
            if (e.Problems.Items.IsEmpty)
            {
                spc.AddSource($"{(e.Namespace.Length > 0 ? e.Namespace + "." : "")}{e.Name}.g.cs", EventCodecEmitter.Emit(e));
            }
        });

        IncrementalValueProvider<ImmutableArray<(int Code, string Name, SourceSpot Spot)>> codes =
            events.Select(static (e, _) => (e.Code, e.Name, e.Spot)).Collect();
        context.RegisterSourceOutput(codes, static (spc, all) =>
        {
            // The first declaration in source order keeps the code; each later one is the error.
            var owners = new Dictionary<int, string>();
            foreach (var (code, name, spot) in all.OrderBy(c => c.Spot.Path, StringComparer.Ordinal).ThenBy(c => c.Spot.Span.Start))
            {
                if (owners.TryGetValue(code, out string? owner))
                {
                    spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.DuplicateCode, spot.ToLocation(), code, name, owner));
                }
                else
                {
                    owners[code] = name;
                }
            }
        });
    }
}
