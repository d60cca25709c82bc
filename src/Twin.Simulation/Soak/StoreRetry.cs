using System.Diagnostics;
using Twin.Persistence;

namespace Twin.Simulation.Soak;

/// <summary>
/// Retries an operation on the journal database when the database could not be reached
/// (<see cref="JournalUnavailableException"/>): exponential backoff from 250 ms to 10 s, each retry
/// reported, for up to <see cref="GiveUpAfter"/>. Any other error is not retried.
/// </summary>
public sealed class StoreRetry(Action<string> report)
{
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromMinutes(5);

    public T Do<T>(string what, Func<T> operation)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return operation();
            }
            catch (JournalUnavailableException e) when (clock.Elapsed + delay < GiveUpAfter)
            {
                report($"{what}: {e.Message}; retrying in {delay.TotalSeconds:0.##} s");
                Thread.Sleep(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    public void Do(string what, Action operation) => Do(what, () =>
    {
        operation();
        return 0;
    });
}
