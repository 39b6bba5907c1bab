using System.CommandLine;
using Ftte.Cli.Commands;

// `ftte`: thin commands over the libraries. Each command group lives in Commands/ and only parses,
// calls a library and prints; no training, data or federation logic lives here.
var root = new RootCommand("FTTE.NET — federated training on heterogeneous, memory-constrained edge devices.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
