using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

using Twin.Actors.Supervision;

namespace Twin.Actors;

/// <summary>
/// Checks that stay on in release builds and soaks (TigerBeetle style): cheap conditions asserted
/// where state changes. A failure escalates and halts the simulation with the message.
/// </summary>
public static class Invariant
{
    public static void Assert([DoesNotReturnIf(false)] bool condition, string what,
        [CallerArgumentExpression(nameof(condition))] string expression = "")
    {
        if (!condition) Fail(what, expression);
    }

    [DoesNotReturn]
    private static void Fail(string what, string expression) =>
        throw new InvariantViolationException($"invariant violated: {what} ({expression})");
}
