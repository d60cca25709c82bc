using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;


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

    /// <summary>
    /// The same with an interpolated message, which is formatted only when the condition fails: an
    /// invariant asserted on every event costs its condition, never a string.
    /// </summary>
    public static void Assert([DoesNotReturnIf(false)] bool condition,
        [InterpolatedStringHandlerArgument(nameof(condition))] ref FailureMessage what,
        [CallerArgumentExpression(nameof(condition))] string expression = "")
    {
        if (!condition) Fail(what.ToStringAndClear(), expression);
    }

    /// <summary>Builds an invariant's message only for a failing condition.</summary>
    [InterpolatedStringHandler]
    public ref struct FailureMessage
    {
        private DefaultInterpolatedStringHandler _inner;

        public FailureMessage(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
        {
            shouldAppend = !condition;
            _inner = shouldAppend ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => _inner.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

        public string ToStringAndClear() => _inner.ToStringAndClear();
    }

    [DoesNotReturn]
    private static void Fail(string what, string expression) =>
        throw new InvariantViolationException($"invariant violated: {what} ({expression})");
}

/// <summary>A model invariant failed: the state the twin reached is impossible in the kernel.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
