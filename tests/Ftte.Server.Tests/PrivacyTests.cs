using Ftte.Federation.Config;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>Client-level DP on the real server: ε reported after every step, kept across a restart, and the run ends at ε_max.</summary>
public sealed class PrivacyTests
{
    private static ServerConfig DpConfig(double maxEpsilon)
    {
        var config = TestServer.Config(minDevices: 2, concurrency: 2, bufferSize: 2);
        return config with
        {
            Strategy = config.Strategy with { Privacy = new PrivacyConfig { NoiseMultiplier = 1.0, ClipNorm = 1.0, MaxEpsilon = maxEpsilon } },
        };
    }

    private static async Task Step(TestServer test, params Device[] devices)
    {
        foreach (var device in devices)
        {
            var task = await test.TaskAsync(device);
            var reply = await test.SubmitValidAsync(device, task);
            Assert.Equal(V1.Verdict.Accepted, reply.Verdict);
        }
    }

    [Fact]
    public async Task Epsilon_IsReported_SurvivesARestart_AndTheRunEndsAtTheBudget()
    {
        // q = K/N = 1 and z = 1: ε ≈ 5.3 after one step, ≈ 7.6 after two; a budget of 8 allows two steps.
        var config = DpConfig(maxEpsilon: 8);
        await using var test = await TestServer.StartAsync(config);
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        Assert.True(double.IsNaN((await test.StatusAsync()).Epsilon));
        Assert.True(double.IsNaN((await test.StatusAsync()).EpsilonPerDevice));

        await Step(test, a, b);
        var one = await test.StatusAsync();
        Assert.Equal(1, one.Version);
        Assert.InRange(one.Epsilon, 1, 8);
        Assert.Equal(1e-5, one.Delta);
        // Here q = K/N = 1, so the per-device figure without the sampling assumption is the same ε.
        Assert.Equal(one.Epsilon, one.EpsilonPerDevice, 6);

        // The accountant is stored with the version: a restart keeps the step counted.
        await test.RestartAsync(config: null);
        Assert.Equal(one.Epsilon, (await test.StatusAsync()).Epsilon, 9);

        await Step(test, a, b);
        var two = await test.StatusAsync();
        Assert.Equal(2, two.Version);
        Assert.True(two.Epsilon > one.Epsilon && two.Epsilon <= 8, $"ε after two steps: {two.Epsilon}");
        Assert.False(two.Finished);

        // A third step would pass ε = 8: nothing is released and the run ends, saying why.
        await Step(test, a, b);
        var end = await test.StatusAsync();
        Assert.True(end.Finished);
        Assert.Equal(2, end.Version);
        Assert.Contains("privacy budget", end.StopReason);
        Assert.Contains("> 8", end.StopReason);
        Assert.Equal(two.Epsilon, end.Epsilon, 9);
    }
}
