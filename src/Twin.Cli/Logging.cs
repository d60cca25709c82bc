using Serilog;
using Serilog.Events;

namespace Twin.Cli;

/// <summary>Serilog to stderr, so stdout carries only results (and nothing but the JSON object with --json).</summary>
public static class Logging
{
    public static ILogger Create(bool verbose) =>
        new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            .WriteTo.Console(
                standardErrorFromLevel: LogEventLevel.Verbose,
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}")
            .CreateLogger();
}
