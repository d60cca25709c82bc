using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project bench/Twin.Benchmarks -- --filter '*'
// One:     ... -- --filter '*Codec*'     Quick look: ... -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Twin.Benchmarks.DispatchBenchmarks).Assembly).Run(args);
