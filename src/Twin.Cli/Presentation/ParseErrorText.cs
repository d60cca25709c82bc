using System.Text.RegularExpressions;

namespace Twin.Cli.Presentation;

/// <summary>
/// System.CommandLine names a flag's .NET type when a value does not parse ("as expected type
/// 'System.Nullable`1[System.Int64]'"); a user wants to hear what to type instead.
/// </summary>
public static partial class ParseErrorText
{
    public static string For(string message) => ExpectedType().Replace(message, m => "as " + Describe(m.Groups["type"].Value));

    private static string Describe(string type) => type switch
    {
        "Int32" or "Int64" or "UInt32" or "UInt64" or "Int16" or "UInt16" or "Byte" => "a whole number",
        "Double" or "Single" or "Decimal" => "a number",
        "Boolean" => "true or false",
        _ => $"a {type}",
    };

    [GeneratedRegex(@"as expected type '(?:System\.Nullable`1\[)?System\.(?<type>\w+)\]?'")]
    private static partial Regex ExpectedType();
}
