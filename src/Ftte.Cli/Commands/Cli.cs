namespace Ftte.Cli.Commands;

/// <summary>Runs a command body and turns the library's errors into one clear line and exit code 1 (no stack trace for user mistakes).</summary>
internal static class Cli
{
    public static async Task<int> RunAsync(Func<Task> body)
    {
        try
        {
            await body();
            return 0;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static bool IsUserError(Exception e) => e is ArgumentException or FormatException or IOException or InvalidOperationException
        or KeyNotFoundException or UnauthorizedAccessException or Ftte.Engine.Planning.MemoryBudgetExceededException
        or Ftte.Data.DatasetUnavailableException or Ftte.Data.DataFormatException or Ftte.Core.Config.ConfigException
        or Ftte.Protocol.RpcException or Ftte.Server.Storage.StoreException or System.Security.Cryptography.CryptographicException;

    public static int Run(Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
