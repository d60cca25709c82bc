using System.CommandLine;
using System.CommandLine.Parsing;
using Twin.Cli;
using Twin.Cli.Commands;
using Twin.Cli.Presentation;
using Twin.Persistence;
using Twin.Simulation.Config;

// The twin command: parsing and presentation only; the work lives in Twin.Simulation.
var root = new RootCommand("Twin: an event-sourced digital twin of the Linux scheduler, lazy TLB, shootdowns, IPIs and membarrier(2)")
{
    RunCommand.Create(),
    ReplayCommand.Create(),
    SoakCommand.Create(),
    CheckCommand.Create(),
    ExportCommand.Create(),
    ShrinkCommand.Create(),
    ImportCommand.Create(),
    LitmusCommand.Create(),
    BenchCommand.Create(),
    RecordCommand.Create(),
    ConformCommand.Create(),
    MutateCommand.Create(),
};

ParseResult parse = root.Parse(args);
string verb = parse.CommandResult.Command == root ? "twin" : $"twin {parse.CommandResult.Command.Name}";
if (parse.Errors.Count > 0)
{
    // The most specific error first: an unrecognized token says more than "required command".
    ParseError error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
    Console.Error.WriteLine($"{verb}: {ParseErrorText.For(error.Message)} (see '{verb} --help')");
    return ExitCodes.BadInput;
}

try
{
    // Exceptions are ours to present (one line, no stack trace); SIGINT is handled by the verbs.
    return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
}
catch (Exception e) when (e is ConfigException or JournalException or UsageException or Twin.Traces.Ftrace.TraceFormatException or Twin.Traces.Record.RecordException)
{
    Console.Error.WriteLine($"{verb}: {e.Message}");
    return ExitCodes.BadInput;
}
catch (Exception e)
{
    Console.Error.WriteLine($"{verb}: internal error ({e.GetType().Name}): {e.Message}");
    if (Environment.GetEnvironmentVariable("TWIN_DEBUG") == "1") Console.Error.WriteLine(e);
    return ExitCodes.InternalError;
}
