using Ftte.Core.Config;
using Ftte.Federation.Config;
using Ftte.Federation.Selection;
using Ftte.Federation.Strategies;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>
/// FTTE's reselectAfter on the real server: after N steps new tasks train the re-selected set (with a new frozen part), a
/// late update of the old set is still taken, and a restart keeps training the re-selected set instead of the first choice.
/// </summary>
public sealed class ReselectionTests
{
    /// <summary>
    /// MNIST and the MLP under a budget that makes the search choose (the whole MLP needs 924 KiB at batch 8); three devices,
    /// two updates per step, re-selection at the check after two steps. With these seeds and Δ = 0.05 the second choice differs from the first.
    /// </summary>
    private static ServerConfig Config()
    {
        var config = TestServer.Config(minDevices: 3, chunkBytes: 32 * 1024);
        return config with
        {
            Dataset = "mnist",
            Strategy = new StrategyConfig
            {
                Kind = StrategyKind.Ftte, Concurrency = 3, BufferSize = 2, StragglerFactor = 0, Weighting = "none", Budget = "640000", ReselectAfter = 2,
                ReselectMargin = 1, // any better set switches at the first check (the switch is what these tests are about)
            },
        };
    }

    private static async Task<V1.TaskAssignment> Submit(TestServer test, Device device, V1.TaskAssignment task, float value = 0.05f)
    {
        var reply = await test.UploadAsync(device, task.TaskId, Payloads.For(device).Delta(task.Trainable, value));
        Assert.True(reply.Verdict == V1.Verdict.Accepted, $"Expected Accepted for task {task.TaskId} ('{task.Trainable}'), got {reply.Verdict}");
        return await test.TaskAsync(device);
    }

    [Fact]
    public async Task After_N_steps_tasks_train_the_new_set_and_a_restart_keeps_it()
    {
        await using var test = await TestServer.StartAsync(Config());
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        var c = await test.EnrolAsync("c");
        var taskA = await test.TaskAsync(a);
        var taskB = await test.TaskAsync(b);
        var oldOfC = await test.TaskAsync(c);
        string first = taskA.Trainable;
        Assert.All(new[] { taskB, oldOfC }, t => Assert.Equal(first, t.Trainable));

        // Two steps from A and B. A's last task was given out before the second step: it is still of the first set.
        for (int step = 0; step < 2; step++)
        {
            taskA = await Submit(test, a, taskA);
            taskB = await Submit(test, b, taskB);
        }
        Assert.Equal(2, (await test.StatusAsync()).Version);
        Assert.Equal(first, taskA.Trainable);
        string second = taskB.Trainable;
        Assert.NotEqual(first, second);
        Assert.True(taskB.TrainableOnly);
        Assert.NotEqual(oldOfC.FrozenHash, taskB.FrozenHash); // a new frozen part: devices download it once
        var ftte = Assert.IsType<FtteStrategy>(test.Server.Strategy);
        Assert.Equal(2, ftte.Reselected!.AfterSteps);

        // C's task of the first set, two versions late: the upload passes every check against its own task, and the
        // strategy merges it on the coordinates both sets train (it stays pending: the buffer holds one update).
        var newOfC = await Submit(test, c, oldOfC);
        Assert.Equal(second, newOfC.Trainable);
        Assert.Equal(1, ftte.Reselected.LateMerged);

        await test.RestartAsync(config: null);
        Assert.Contains(test.Log, line => line.Contains("Restored 1 accepted update(s)", StringComparison.Ordinal));
        Assert.Equal(2, (await test.StatusAsync()).Version);

        // The tasks given before the restart expired; the new ones train the re-selected set, not the stored first choice.
        var afterB = await test.TaskAsync(b);
        Assert.Equal(second, afterB.Trainable);
        Assert.Equal(taskB.FrozenHash, afterB.FrozenHash); // the same version and set: a device's cached frozen part still serves
        var restarted = Assert.IsType<FtteStrategy>(test.Server.Strategy);
        Assert.Equal(second, restarted.Spec.TrainableKey);
        Assert.Null(restarted.Selection); // no search ran: the first set came from the stored config, the second from the state
        Assert.Equal(2, restarted.Reselected!.AfterSteps);
        Assert.Equal(1, restarted.Reselected.LateMerged); // the restored pending update, counted once

        // B's update and C's restored one make the third step; training goes on with the re-selected set.
        var nextB = await Submit(test, b, afterB);
        Assert.Equal(3, (await test.StatusAsync()).Version);
        Assert.Equal(second, nextB.Trainable);
        Assert.Equal(second, (await test.TaskAsync(a)).Trainable);
        Assert.Equal(2, restarted.Reselected.AfterSteps);
    }

    /// <summary>
    /// 24 updates of the first set at RMS 0.05 (twelve steps of A and B, enough to fill the outlier test's history of that set);
    /// returns B and its task of the re-selected set.
    /// </summary>
    private static async Task<(Device B, V1.TaskAssignment Task, string First)> SwitchAfter12Steps(TestServer test)
    {
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        await test.EnrolAsync("c");
        var taskA = await test.TaskAsync(a);
        var taskB = await test.TaskAsync(b);
        string first = taskA.Trainable;
        for (int step = 0; step < 12; step++)
        {
            taskA = await Submit(test, a, taskA);
            taskB = await Submit(test, b, taskB);
        }
        Assert.NotEqual(first, taskB.Trainable);
        return (b, taskB, first);
    }

    [Fact]
    public async Task After_the_switch_the_new_sets_updates_are_not_judged_as_outliers_against_the_old_sets()
    {
        // The re-selected set's updates move ten times as much per value as the first set's (as a convolution's can against a
        // wide linear layer's) and must still be taken.
        await using var test = await TestServer.StartAsync(Config() with { Strategy = Config().Strategy with { ReselectAfter = 12 } });
        var (b, taskB, _) = await SwitchAfter12Steps(test);

        for (int i = 0; i < 3; i++) taskB = await Submit(test, b, taskB, 0.5f);

        Assert.False((await test.StatusAsync()).Refusals.ContainsKey("outlier"));
    }

    [Fact]
    public async Task Within_the_new_sets_first_20_updates_an_absurd_one_is_refused_as_an_outlier_and_normal_ones_are_taken()
    {
        // The first set's updates are the only history when the new set starts; the norm limit is lifted so that only the
        // outlier test can refuse.
        var config = Config();
        await using var test = await TestServer.StartAsync(config with
        {
            Strategy = config.Strategy with { ReselectAfter = 12 },
            Server = config.Server with { MaxUpdateNorm = 1e9 },
        });
        var (b, taskB, first) = await SwitchAfter12Steps(test);

        // The new set's first update, 1,000 times the old set's: far beyond any honest difference between sets.
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(b, taskB.TaskId, Payloads.For(b).Delta(taskB.Trainable, 50f)), "outlier", "other trainable sets", "0 accepted so far");
        taskB = await test.TaskAsync(b);

        // Ten times the old set's per value (as a convolution's can be against a wide linear layer's) is taken.
        for (int i = 0; i < 3; i++) taskB = await Submit(test, b, taskB, 0.5f);

        // With three of its own, the set is judged at its own scale: four times its median is refused (it would pass against
        // the old set scaled by the bound between sets), its usual size still taken.
        Assert.NotEqual(first, taskB.Trainable);
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(b, taskB.TaskId, Payloads.For(b).Delta(taskB.Trainable, 2f)), "outlier", "3 accepted so far");
        taskB = await test.TaskAsync(b);
        await Submit(test, b, taskB, 0.5f);

        Assert.Equal(2, (await test.StatusAsync()).Refusals["outlier"]);
    }

    [Fact]
    public async Task A_restart_before_the_first_step_keeps_the_budget_of_the_first_start()
    {
        // Budget "min": the weakest enrolled device's memory, resolved when the strategy starts (1 GiB here).
        await using var test = await TestServer.StartAsync(Config() with { Strategy = Config().Strategy with { Budget = null } });
        foreach (string name in new[] { "a", "b", "c" }) await test.EnrolAsync(name);
        long budget = Assert.IsType<FtteStrategy>(test.Server.Strategy).BudgetBytes;
        Assert.Equal(TestServer.Capabilities().MemoryBytes, budget);
        // A weaker device enrols before any step: resolved again after a restart, the budget would be its memory.
        var weak = TestServer.Capabilities();
        weak.MemoryBytes = 700_000;
        await test.Call(FederationMethods.Enrol, new V1.EnrolRequest { Secret = TestServer.Secret, DeviceName = "weak", Capabilities = weak }, V1.EnrolReply.Parser);

        await test.RestartAsync(config: null);
        Assert.Equal(0, (await test.StatusAsync()).Version);
        // The state stored at the first start keeps it, so the re-selection will search under the budget an uninterrupted run has.
        Assert.Equal(budget, Assert.IsType<FtteStrategy>(test.Server.Strategy).BudgetBytes);
    }

    [Fact]
    public async Task The_default_reselection_is_stored_with_the_first_choice_and_the_same_config_resumes()
    {
        // No reselectAfter: FTTE's default (100 steps) applies. The stored config fixes the first choice, which alone would mean
        // "no re-selection", so the server stores the 100 with it; resuming with the very config of the first start is accepted.
        var config = Config() with { Strategy = Config().Strategy with { ReselectAfter = null } };
        await using var test = await TestServer.StartAsync(config);
        var a = await test.EnrolAsync("a");
        await test.EnrolAsync("b");
        await test.EnrolAsync("c");
        string first = (await test.TaskAsync(a)).Trainable;
        Assert.Equal(StrategyConfig.DefaultReselectAfter, Assert.IsType<FtteStrategy>(test.Server.Strategy).Options.ReselectAfter);

        await test.RestartAsync(config);

        Assert.Equal(first, (await test.TaskAsync(a)).Trainable);
        var restarted = Assert.IsType<FtteStrategy>(test.Server.Strategy);
        Assert.Null(restarted.Selection); // the stored first choice, no new search
        Assert.Equal(StrategyConfig.DefaultReselectAfter, restarted.Options.ReselectAfter);
    }

    [Theory]
    [InlineData(null)]      // the set searched at start, then re-selected
    [InlineData("fc3")]     // a fixed first choice, re-selected
    public async Task The_contribution_metric_left_open_is_stored_and_a_restart_with_the_same_config_re_selects_with_it(string? trainable)
    {
        // No contributionMetric: the first start's default is stored with the run, so that a re-selection after a restart
        // measures as the run started even where a later version's default differs; resuming with the same config is accepted.
        var config = Config() with { Strategy = Config().Strategy with { Trainable = trainable } };
        await using var test = await TestServer.StartAsync(config);
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        await test.EnrolAsync("c");
        var taskA = await test.TaskAsync(a);
        var taskB = await test.TaskAsync(b);
        Assert.Null(Assert.IsType<FtteStrategy>(test.Server.Strategy).Options.Contribution);

        await test.RestartAsync(config);

        Assert.Equal(StrategyConfig.DefaultContributionMetric, test.Server.Config.Strategy.ContributionMetric);
        var restarted = Assert.IsType<FtteStrategy>(test.Server.Strategy);
        Assert.Equal(new ContributionOptions().Metric, restarted.Options.Contribution?.Metric);
        // The two steps to the re-selection: its analysis uses the stored metric.
        taskA = await test.TaskAsync(a);
        taskB = await test.TaskAsync(b);
        for (int step = 0; step < 2; step++)
        {
            taskA = await Submit(test, a, taskA);
            taskB = await Submit(test, b, taskB);
        }
        Assert.NotNull(restarted.Reselected);
        Assert.Equal(ContributionMetric.GradientSquared, restarted.Contributions!.Metric);

        // Another metric than the stored one is another run.
        await test.StopAsync();
        var e = Assert.Throws<ConfigException>(() => FederationServer.Open(test.StatePath,
            config with { Strategy = config.Strategy with { ContributionMetric = "loss" } }, TestServer.Secret));
        Assert.Contains("different config", e.Message);
    }

    [Fact]
    public async Task A_run_stored_with_another_reselectAfter_resumes_with_it_when_the_config_leaves_the_key_open()
    {
        // What a run started before the default moved from 100 to 10 has stored: reselectAfter 100, explicitly.
        var started = Config() with { Strategy = Config().Strategy with { ReselectAfter = 100 } };
        await using var test = await TestServer.StartAsync(started);
        await test.EnrolAsync("a");
        await test.EnrolAsync("b");
        await test.EnrolAsync("c");
        Assert.Equal(100, Assert.IsType<FtteStrategy>(test.Server.Strategy).Options.ReselectAfter);

        var open = Config() with { Strategy = Config().Strategy with { ReselectAfter = null } };
        await test.RestartAsync(open);
        Assert.Equal(100, Assert.IsType<FtteStrategy>(test.Server.Strategy).Options.ReselectAfter);

        // Naming another value is another run.
        await test.StopAsync();
        var e = Assert.Throws<ConfigException>(() => FederationServer.Open(test.StatePath,
            Config() with { Strategy = Config().Strategy with { ReselectAfter = 50 } }, TestServer.Secret));
        Assert.Contains("different config", e.Message);
    }

    [Fact]
    public async Task The_margin_left_open_is_stored_and_a_restart_with_the_same_config_keeps_it()
    {
        var open = Config() with { Strategy = Config().Strategy with { ReselectMargin = null } };
        await using var test = await TestServer.StartAsync(open);
        await test.EnrolAsync("a");
        await test.EnrolAsync("b");
        await test.EnrolAsync("c");

        await test.RestartAsync(open);
        Assert.Equal(FtteOptions.DefaultReselectMargin, test.Server.Config.Strategy.ReselectMargin);
        Assert.Equal(FtteOptions.DefaultReselectMargin, Assert.IsType<FtteStrategy>(test.Server.Strategy).Options.ReselectMargin);

        await test.StopAsync();
        var e = Assert.Throws<ConfigException>(() => FederationServer.Open(test.StatePath,
            Config() with { Strategy = Config().Strategy with { ReselectMargin = 2 } }, TestServer.Secret));
        Assert.Contains("different config", e.Message);
    }

    [Fact]
    public void ReselectAfter_is_accepted_by_serve_but_not_with_privacy_or_secure_aggregation()
    {
        var config = StrictJson.Parse<ServerConfig>("""{ "strategy": { "kind": "ftte", "reselectAfter": 50 } }""", "serve.json");
        Assert.Equal(50, config.Strategy.ReselectAfter);

        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<ServerConfig>(
            """{ "strategy": { "kind": "ftte", "reselectAfter": 50, "weighting": "age", "privacy": { "noiseMultiplier": 1 } } }""", "serve.json"));
        Assert.Contains("strategy.reselectAfter", e.Message);
        Assert.Contains("privacy", e.Message);
        e = Assert.Throws<ConfigException>(() => StrictJson.Parse<ServerConfig>(
            """{ "strategy": { "kind": "ftte", "reselectAfter": 50, "weighting": "age", "secureAggregation": {} } }""", "serve.json"));
        Assert.Contains("strategy.reselectAfter", e.Message);
        Assert.Contains("secureAggregation", e.Message);
    }
}
