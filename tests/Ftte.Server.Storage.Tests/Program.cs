namespace Ftte.Server.Storage.Tests;

/// <summary>
/// The test assembly doubles as a tiny server for <see cref="DurabilityTests"/>: `dotnet exec
/// Ftte.Server.Storage.Tests.dll crash-writer STATE` writes until it is killed (test runners never call Main).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is not ["crash-writer", var path])
        {
            Console.Error.WriteLine("usage: crash-writer STATE-FILE");
            return 2;
        }
        var store = ServerStore.Open(path); // never disposed: the process is meant to die with it open
        CrashWriter.Run(store, line => { Console.Out.WriteLine(line); Console.Out.Flush(); }, () => false);
        return 0;
    }
}
