namespace Ftte.Simulation.Fleet;

/// <summary>
/// Named fleets. Sized against the simulator's reference workload, LeNet on 28×28 MNIST at batch 16 with
/// SGD (momentum 0.5): peak training memory 1.79 MiB for the whole model, 1.40 MiB bias-only, 1.11 MiB last layer only
/// when the fleets were drawn; 1.33 MiB, 853.7 KiB and 402.8 KiB since the engine keeps ReLU masks, runs element-wise layers
/// in place and streams the frozen prefix (the fleets were not changed to follow: a fleet is data, not tuned to a plan);
/// 1.94 MFLOP per sample; about 61k parameters, so ~0.25 MB (~2 Mbit) per fp32 model transfer.
/// The weak tiers cannot hold full training of even that model, so memory-aware strategies have to
/// choose what to train; the strong tiers can.
/// </summary>
public static class FleetPresets
{
    private const double KiB = 1024, MiB = 1024 * 1024, GiB = 1024 * MiB;
    private const double K = 1e3, M = 1e6, G = 1e9;

    /// <summary>The preset names, in documentation order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiers4", "stragglers-90", "uniform"];

    /// <summary>The spec of preset <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static FleetSpec Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "tiers4" => Tiers4(),
            "stragglers-90" => Stragglers90(),
            "uniform" => Uniform(),
            _ => throw new ArgumentException($"Unknown fleet preset '{name}'; known presets: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>Shorthand for <c>FleetGenerator.Generate(Get(name), devices, seed)</c>.</summary>
    public static DeviceFleet Create(string name, int devices, ulong seed) => FleetGenerator.Generate(Get(name), devices, seed);

    /// <summary>Four hardware classes from microcontroller sensors to flagship phones, 30/20/30/20 %.</summary>
    public static FleetSpec Tiers4() => new(
    [
        // Microcontroller sensor (Cortex-M7 / ESP32-S3 class, hundreds of KiB of SRAM plus a little PSRAM):
        // 0.5–1.6 MiB for training, never the 1.79 MiB of full LeNet training (the engine of the time; 1.33 MiB now); fp32 training without a
        // vector unit runs at a few MFLOP/s; LoRa/BLE-class links of tens to a few hundred kbit/s through a
        // gateway with duty-cycling delays; mains- or harvester-powered and always reachable.
        new TierSpec("sensor", 0.30,
            MemoryBytes: new Spread(1.0 * MiB, 0.25, Min: 512 * KiB, Max: 1.6 * MiB),
            FlopsPerSecond: new Spread(5 * M, 0.4, Min: 1 * M, Max: 20 * M),
            DownlinkBitsPerSecond: new Spread(100 * K, 0.5, Min: 20 * K, Max: 250 * K),
            UplinkBitsPerSecond: new Spread(50 * K, 0.5, Min: 20 * K, Max: 250 * K),
            LatencySeconds: new Spread(0.5, 0.4, Min: 0.1, Max: 1.0),
            Availability: Availability.Always,
            DropoutProbability: 0.05),
        // Smartwatch (Cortex-A7/A53 class, 0.5–2 GB RAM of which an app gets a few MiB): about 5 % of
        // watches (old ones) cannot hold full LeNet training; 50–200 MFLOP/s effective; BLE via the phone
        // or Wi-Fi, around 1–2 Mbit/s; on the wrist for stretches and off (charging, Bluetooth out of
        // range) for others, about half the time each.
        new TierSpec("smartwatch", 0.20,
            MemoryBytes: new Spread(4 * MiB, 0.5, Min: 1.25 * MiB, Max: 16 * MiB),
            FlopsPerSecond: new Spread(100 * M, 0.5, Min: 30 * M, Max: 400 * M),
            DownlinkBitsPerSecond: new Spread(2 * M, 0.6, Min: 250 * K, Max: 10 * M),
            UplinkBitsPerSecond: new Spread(1 * M, 0.6, Min: 100 * K, Max: 5 * M),
            LatencySeconds: new Spread(0.2, 0.4, Min: 0.05, Max: 1.0),
            Availability: Availability.Markov(meanOnSeconds: 1800, meanOffSeconds: 1800),
            DropoutProbability: 0.05),
        // Low-end phone (2–3 GB RAM, 4× Cortex-A53): tens of MiB for a background trainer, ~1 GFLOP/s;
        // 3G/4G links of a few Mbit/s; usable two thirds of the time (idle, charged, on an unmetered network).
        new TierSpec("phone-low", 0.30,
            MemoryBytes: new Spread(64 * MiB, 0.5, Min: 16 * MiB, Max: 256 * MiB),
            FlopsPerSecond: new Spread(1 * G, 0.5, Min: 250 * M, Max: 4 * G),
            DownlinkBitsPerSecond: new Spread(10 * M, 0.7, Min: 1 * M, Max: 50 * M),
            UplinkBitsPerSecond: new Spread(3 * M, 0.7, Min: 500 * K, Max: 20 * M),
            LatencySeconds: new Spread(0.1, 0.4, Min: 0.05, Max: 0.5),
            Availability: Availability.Markov(meanOnSeconds: 3600, meanOffSeconds: 1800),
            DropoutProbability: 0.05),
        // Flagship phone (8–12 GB RAM, big cores with NEON/SME, NPU unused by fp32 training): hundreds of
        // MiB, ~10 GFLOP/s; Wi-Fi/5G at tens of Mbit/s; usable 80 % of the time.
        new TierSpec("phone-flagship", 0.20,
            MemoryBytes: new Spread(512 * MiB, 0.4, Min: 128 * MiB, Max: 2 * GiB),
            FlopsPerSecond: new Spread(10 * G, 0.4, Min: 3 * G, Max: 40 * G),
            DownlinkBitsPerSecond: new Spread(50 * M, 0.6, Min: 10 * M, Max: 300 * M),
            UplinkBitsPerSecond: new Spread(20 * M, 0.6, Min: 5 * M, Max: 100 * M),
            LatencySeconds: new Spread(0.05, 0.3, Min: 0.02, Max: 0.2),
            Availability: Availability.Markov(meanOnSeconds: 7200, meanOffSeconds: 1800),
            DropoutProbability: 0.02),
    ]);

    /// <summary>
    /// The FTTE paper's hard regime (up to 500 clients, 90 % stragglers): 10 % fast devices, 90 % slow ones
    /// with little memory, slow links and some dropout. A synchronous full-model round waits minutes for its
    /// slowest straggler while a fast device finishes in about a second.
    /// </summary>
    public static FleetSpec Stragglers90() => new(
    [
        // Fast: a current phone or edge box (flagship class), always on, rarely drops.
        new TierSpec("fast", 0.10,
            MemoryBytes: new Spread(512 * MiB, 0.4, Min: 128 * MiB, Max: 2 * GiB),
            FlopsPerSecond: new Spread(10 * G, 0.4, Min: 3 * G, Max: 40 * G),
            DownlinkBitsPerSecond: new Spread(50 * M, 0.5, Min: 10 * M, Max: 300 * M),
            UplinkBitsPerSecond: new Spread(20 * M, 0.5, Min: 5 * M, Max: 100 * M),
            LatencySeconds: new Spread(0.05, 0.3, Min: 0.02, Max: 0.2),
            Availability: Availability.Always,
            DropoutProbability: 0.01),
        // Straggler: sensor/watch class. Memory around 1.25 MiB, so about 85 % could not hold full LeNet
        // training (1.79 MiB with the engine of the time; about half cannot hold today's 1.33 MiB) and some could not
        // even train the last layer (1.11 MiB then, 402.8 KiB now); ~20 MFLOP/s, so one
        // epoch on ~120 MNIST samples takes ~12 s (up to a minute); 100–200 kbit/s links make each
        // ~2 Mbit model transfer take 10–20 s (up to ~100 s); online 80 % of the time; 10 % dropout.
        new TierSpec("straggler", 0.90,
            MemoryBytes: new Spread(1.25 * MiB, 0.35, Min: 768 * KiB, Max: 4 * MiB),
            FlopsPerSecond: new Spread(20 * M, 0.6, Min: 4 * M, Max: 100 * M),
            DownlinkBitsPerSecond: new Spread(200 * K, 0.6, Min: 50 * K, Max: 1 * M),
            UplinkBitsPerSecond: new Spread(100 * K, 0.6, Min: 20 * K, Max: 500 * K),
            LatencySeconds: new Spread(0.3, 0.4, Min: 0.1, Max: 1.0),
            Availability: Availability.Markov(meanOnSeconds: 3600, meanOffSeconds: 900),
            DropoutProbability: 0.10),
    ]);

    /// <summary>Identical capable devices (low-end-laptop class), always on, never dropping: for IID sanity checks and like-for-like comparisons.</summary>
    public static FleetSpec Uniform() => new(
    [
        new TierSpec("uniform", 1.0,
            MemoryBytes: Spread.Fixed(256 * MiB),
            FlopsPerSecond: Spread.Fixed(2 * G),
            DownlinkBitsPerSecond: Spread.Fixed(20 * M),
            UplinkBitsPerSecond: Spread.Fixed(10 * M),
            LatencySeconds: Spread.Fixed(0.05),
            Availability: Availability.Always,
            DropoutProbability: 0),
    ]);
}
