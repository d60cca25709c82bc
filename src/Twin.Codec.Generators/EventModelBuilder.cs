using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Twin.Codec.Generators;

/// <summary>Reads a <c>[JournaledEvent]</c> declaration into an <see cref="EventModel"/>, with a <see cref="Problem"/> for each thing the codec cannot do.</summary>
internal static class EventModelBuilder
{
    private const string Codec = "Twin.Persistence.Codec";

    public static EventModel Build(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var syntax = (TypeDeclarationSyntax)context.TargetNode;
        ImmutableArray<TypedConstant> args = context.Attributes[0].ConstructorArguments;
        int code = args.Length > 0 && args[0].Value is ushort c ? c : 0;
        int version = args.Length > 1 && args[1].Value is byte v ? v : 0;
        string ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();
        var spot = SourceSpot.Of(syntax.Identifier.GetLocation());
        var problems = ImmutableArray.CreateBuilder<Problem>();
        var fields = ImmutableArray.CreateBuilder<FieldModel>();

        if (syntax is not RecordDeclarationSyntax { ParameterList: { } parameters } record
            || !record.IsKind(SyntaxKind.RecordStructDeclaration)
            || !record.Modifiers.Any(SyntaxKind.PartialKeyword)
            || !record.Modifiers.Any(SyntaxKind.ReadOnlyKeyword)
            || type.ContainingType is not null)
        {
            problems.Add(new Problem(Diagnostics.NotARecordStruct.Id, spot, ImmutableArray.Create(type.Name)));
        }
        else
        {
            foreach (ParameterSyntax p in parameters.Parameters)
            {
                if (context.SemanticModel.GetDeclaredSymbol(p, ct) is IParameterSymbol parameter)
                {
                    Field(parameter, type.Name, SourceSpot.Of(p.GetLocation()), fields, problems);
                }
            }
        }
        if (version is < 1 or > 15)
        {
            problems.Add(new Problem(Diagnostics.BadManifest.Id, spot, ImmutableArray.Create(type.Name, version.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
        return new EventModel(ns, type.Name, code, version, fields.ToImmutable(), spot, problems.ToImmutable());
    }

    private static void Field(IParameterSymbol p, string evt, SourceSpot spot, ImmutableArray<FieldModel>.Builder fields, ImmutableArray<Problem>.Builder problems)
    {
        ITypeSymbol t = p.Type;
        string full = t.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        FieldKind? kind = t.SpecialType switch
        {
            SpecialType.System_Int32 => FieldKind.Int32,
            SpecialType.System_Int64 => FieldKind.Int64,
            SpecialType.System_Boolean => FieldKind.Bool,
            _ when t is INamedTypeSymbol { TypeKind: TypeKind.Enum } => FieldKind.Enum,
            _ when IsSelfCoded(t) => FieldKind.SelfCoded,
            _ => null,
        };
        if (kind is null)
        {
            problems.Add(new Problem(Diagnostics.UnsupportedField.Id, spot, ImmutableArray.Create(p.Name, evt, t.ToDisplayString())));
            return;
        }
        (int min, int max) = (0, 0);
        if (kind == FieldKind.Enum)
        {
            string? fault = EnumRange((INamedTypeSymbol)t, out min, out max);
            if (fault is not null)
            {
                problems.Add(new Problem(Diagnostics.BadEnum.Id, spot, ImmutableArray.Create(p.Name, evt, t.ToDisplayString(), fault)));
                return;
            }
        }
        fields.Add(new FieldModel(p.Name, kind.Value, full, t.Name, min, max));
    }

    /// <summary>The enum's smallest and largest member, or why it cannot be one checked byte.</summary>
    private static string? EnumRange(INamedTypeSymbol e, out int min, out int max)
    {
        (min, max) = (0, 0);
        if (e.EnumUnderlyingType?.SpecialType != SpecialType.System_Byte) return $"is backed by {e.EnumUnderlyingType?.ToDisplayString()}, not byte";
        int[] values = [.. e.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).Select(f => Convert.ToInt32(f.ConstantValue)).Distinct()];
        if (values.Length == 0) return "has no members";
        (min, max) = (values.Min(), values.Max());
        return values.Length == max - min + 1 ? null : $"has gaps between {min} and {max}";
    }

    /// <summary>A struct that encodes itself: <c>void Write(ref PayloadWriter)</c> and <c>static T Read(ref PayloadReader)</c>.</summary>
    private static bool IsSelfCoded(ITypeSymbol t) =>
        t.TypeKind == TypeKind.Struct
        && t.GetMembers("Write").OfType<IMethodSymbol>().Any(m => !m.IsStatic && m.ReturnsVoid && TakesRef(m, "PayloadWriter"))
        && t.GetMembers("Read").OfType<IMethodSymbol>().Any(m => m.IsStatic && SymbolEqualityComparer.Default.Equals(m.ReturnType, t) && TakesRef(m, "PayloadReader"));

    private static bool TakesRef(IMethodSymbol m, string codecType) =>
        m.DeclaredAccessibility == Accessibility.Public
        && m.Parameters.Length == 1
        && m.Parameters[0].RefKind == RefKind.Ref
        && m.Parameters[0].Type.ToDisplayString() == $"{Codec}.{codecType}";
}
