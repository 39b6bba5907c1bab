using System.CommandLine;

namespace Ftte.Cli.Commands;

/// <summary>The command groups of `ftte`, in the order `--help` lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        foreach (var command in EngineCommands.Create()) yield return command;
        yield return DataCommands.Create();
        yield return FleetCommands.Create();
        foreach (var command in SimulationCommands.Create()) yield return command;
        foreach (var command in DeploymentCommands.Create()) yield return command;
        yield return PrivacyCommands.Create();
    }
}
