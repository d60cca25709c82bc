using System.Diagnostics;
using Serilog;
using Spectre.Console;

namespace Twin.Cli.Presentation;

/// <summary>
/// Runs long work on a worker thread (the simulation itself stays single-threaded) and shows a
/// progress bar once it has taken more than two seconds, when stdout is a terminal and not JSON;
/// otherwise it logs a progress line to stderr about once a second.
/// </summary>
public sealed class BackgroundWork
{
    private readonly object _gate = new();
    private double _fraction;
    private string _status = "";

    /// <summary>Reports progress from the worker: fraction done (0..1) and a status line.</summary>
    public void Report(double fraction, string status)
    {
        lock (_gate)
        {
            _fraction = Math.Clamp(fraction, 0, 1);
            _status = status;
        }
    }

    public T Run<T>(string title, bool showBar, ILogger log, Func<BackgroundWork, T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = work(this);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 256 * 1024 * 1024) { Name = "twin-work" };
        thread.Start();
        bool interactive = showBar && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!thread.Join(TimeSpan.FromSeconds(2)))
        {
            if (interactive) ShowBar(title, thread);
            else LogUntilDone(title, thread, log);
        }
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return result;
    }

    private void ShowBar(string title, Thread thread)
    {
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(Markup.Escape(title), maxValue: 1000);
                while (!thread.Join(100))
                {
                    lock (_gate)
                    {
                        task.Value = _fraction * 1000;
                        task.Description = Markup.Escape($"{title} {_status}");
                    }
                }
                task.Value = 1000;
            });
    }

    private void LogUntilDone(string title, Thread thread, ILogger log)
    {
        var clock = Stopwatch.StartNew();
        while (!thread.Join(1000))
        {
            string status;
            lock (_gate) status = _status;
            log.Information("{Title}: {Status} ({Elapsed:F0} s)", title, status, clock.Elapsed.TotalSeconds);
        }
    }
}
