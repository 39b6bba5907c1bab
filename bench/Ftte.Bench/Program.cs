// ftte-bench: Stopwatch-based benchmarks of the engine, one subcommand per concern (see BenchCommands).
return Ftte.Bench.BenchCommands.Run(args);
