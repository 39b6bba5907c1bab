using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ftte.Federation.Privacy;

namespace Ftte.Cli.Commands;

/// <summary>`ftte privacy epsilon`: the RDP accountant on its own, to plan a DP run or check it against published values.</summary>
internal static class PrivacyCommands
{
    public static Command Create()
    {
        var privacy = new Command("privacy", "Differential privacy: the Rényi-DP accountant of the sampled Gaussian mechanism.");
        privacy.Subcommands.Add(Epsilon());
        return privacy;
    }

    private static Command Epsilon()
    {
        var q = new Option<double>("--q") { Description = "Sampling rate per step, in (0, 1] (federated: K/N, updates per step over eligible devices).", Required = true };
        var sigma = new Option<double?>("--sigma") { Description = "Noise multiplier σ > 0 (noise standard deviation / clipping norm)." };
        var steps = new Option<long>("--steps") { Description = "Steps composed, ≥ 1.", Required = true };
        var delta = new Option<double>("--delta") { Description = "δ, in (0, 1).", DefaultValueFactory = _ => 1e-5 };
        var target = new Option<double?>("--sigma-for-epsilon") { Description = "Instead of --sigma: find the smallest σ (bisection) whose ε after --steps stays within this target." };
        var conversion = new Option<string>("--conversion") { Description = "RDP → (ε, δ): improved (Balle et al. 2020, default) or classic (Mironov 2017).", DefaultValueFactory = _ => "improved" };
        var orders = new Option<string>("--orders")
        {
            Description = "RDP orders: default (1.1…10.9 by 0.1 and 2…256), opacus, dp-accounting, or a comma-separated list.",
            DefaultValueFactory = _ => "default",
        };
        var json = new Option<bool>("--json") { Description = "Print a JSON object." };
        var command = new Command("epsilon", "ε at δ after some steps of the sampled Gaussian mechanism (RDP accountant), or the σ that reaches a target ε.")
        {
            q, sigma, steps, delta, target, conversion, orders, json,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            double rate = r.GetValue(q), d = r.GetValue(delta);
            long n = r.GetValue(steps);
            double? s = r.GetValue(sigma), goal = r.GetValue(target);
            if (!(rate > 0 && rate <= 1)) throw new ArgumentException($"--q must be in (0, 1]; got {Format(rate)}.");
            if (n < 1) throw new ArgumentException($"--steps must be ≥ 1; got {n}.");
            if (!(d > 0 && d < 1)) throw new ArgumentException($"--delta must be in (0, 1); got {Format(d)}.");
            if (s is not null && goal is not null) throw new ArgumentException("Give --sigma or --sigma-for-epsilon, not both.");
            if (s is null && goal is null) throw new ArgumentException("Give --sigma (to compute ε) or --sigma-for-epsilon (to find σ).");
            if (s is { } sv && !(sv > 0 && double.IsFinite(sv))) throw new ArgumentException($"--sigma must be > 0; got {Format(sv)}.");
            if (goal is { } g && !(g > 0 && double.IsFinite(g))) throw new ArgumentException($"--sigma-for-epsilon must be > 0; got {Format(g)}.");
            var conv = ParseConversion(r.GetValue(conversion)!);
            var grid = ParseOrders(r.GetValue(orders)!);

            double noise = s ?? NoiseCalibration.SigmaForEpsilon(goal!.Value, rate, n, d, grid, conv);
            var accountant = new RdpAccountant(grid);
            accountant.Step(rate, noise, n);
            var spent = accountant.Epsilon(d, conv);
            var other = accountant.Epsilon(d, conv == RdpConversion.Improved ? RdpConversion.Classic : RdpConversion.Improved);

            if (r.GetValue(json)) Console.WriteLine(ToJson(rate, noise, n, d, goal, spent, other));
            else Console.WriteLine(ToText(rate, noise, n, d, goal, spent, other));
        }));
        return command;
    }

    private static string ToText(double q, double sigma, long steps, double delta, double? goal, PrivacySpent spent, PrivacySpent other)
    {
        var inv = CultureInfo.InvariantCulture;
        string setting = string.Create(inv, $"{steps:N0} steps of the sampled Gaussian mechanism at q = {Format(q)}");
        string first = goal is { } g
            ? string.Create(inv, $"σ = {sigma:0.######} reaches ε = {spent.Epsilon:0.######} ≤ {Format(g)} at δ = {PrivacyFormat.Delta(delta)} after {setting}")
            : string.Create(inv, $"ε = {spent.Epsilon:0.####} at δ = {PrivacyFormat.Delta(delta)} after {setting}, σ = {Format(sigma)}");
        return string.Join(Environment.NewLine,
            first,
            string.Create(inv, $"best RDP order: α = {spent.Order:0.##}"),
            $"conversion: {Describe(spent.Conversion)}",
            string.Create(inv, $"  ({PrivacyFormat.Conversion(other.Conversion)}: ε = {other.Epsilon:0.####} at α = {other.Order:0.##})"));
    }

    private static string ToJson(double q, double sigma, long steps, double delta, double? goal, PrivacySpent spent, PrivacySpent other)
    {
        var o = new JsonObject
        {
            ["epsilon"] = spent.Epsilon,
            ["delta"] = delta,
            ["order"] = spent.Order,
            ["conversion"] = Name(spent.Conversion),
            ["q"] = q,
            ["sigma"] = sigma,
            ["steps"] = steps,
        };
        if (goal is { } g) o["targetEpsilon"] = g;
        o[Name(other.Conversion)] = new JsonObject { ["epsilon"] = other.Epsilon, ["order"] = other.Order };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string Name(RdpConversion c) => c == RdpConversion.Improved ? "improved" : "classic";

    private static string Describe(RdpConversion c) => c == RdpConversion.Improved
        ? "improved (Balle et al. 2020): ε = rdp(α) + log((α−1)/α) − (log δ + log α)/(α−1)"
        : "classic (Mironov 2017): ε = rdp(α) − log δ/(α−1)";

    private static RdpConversion ParseConversion(string text) => text.Trim().ToLowerInvariant() switch
    {
        "improved" => RdpConversion.Improved,
        "classic" => RdpConversion.Classic,
        _ => throw new ArgumentException($"--conversion '{text}' is not known; use improved or classic."),
    };

    /// <summary>Named grids reproduce the libraries' defaults: Opacus RDPAccountant.DEFAULT_ALPHAS, dp_accounting DEFAULT_RDP_ORDERS.</summary>
    private static double[] ParseOrders(string text)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "default": return [.. RdpAccountant.DefaultOrders];
            case "opacus": return [.. Enumerable.Range(1, 99).Select(x => 1 + x / 10.0), .. Enumerable.Range(12, 52).Select(a => (double)a)];
            case "dp-accounting": return [.. Enumerable.Range(1, 99).Select(x => 1 + x / 10.0), .. Enumerable.Range(11, 53).Select(a => (double)a), 128, 256, 512, 1024];
        }
        var orders = new List<double>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double a) || !(a > 1) || a > SampledGaussianRdp.MaxOrder)
                throw new ArgumentException($"--orders: '{part}' is not an order in (1, {SampledGaussianRdp.MaxOrder:0}]; use default, opacus, dp-accounting or numbers like 1.5,2,4,8,16,32,64.");
            orders.Add(a);
        }
        if (orders.Count == 0) throw new ArgumentException("--orders is empty.");
        return [.. orders];
    }

    private static string Format(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
