using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project bench/Twin.Benchmarks -- --filter '*'
// One:     ... -- --filter '*Codec*'     Quick look: ... -- --filter '*' --job short
// Payload sizes of CodecBenchmarks' mix: ... -- sizes
if (args is ["sizes"])
{
    Twin.Benchmarks.Mix.PrintSizes();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Twin.Benchmarks.DispatchBenchmarks).Assembly).Run(args);
