using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ftte.Bench;

/// <summary>
/// Theoretical fp32 peak: cores × GHz × FMA units × lanes × 2 (an FMA is two flops). An estimate with stated assumptions:
/// <list type="bullet">
/// <item>GHz is /proc/cpuinfo's "cpu MHz" of the first CPU: the nominal clock (under a hypervisor, the TSC's); turbo is ignored.</item>
/// <item>Cores are distinct (physical id, core id) pairs: SMT siblings share their core's FMA units.</item>
/// <item>FMA units × lanes: 2 × 8 with AVX2+FMA (Haswell and later, Zen 1–3); 2 × 16 with AVX-512 (Intel server cores
/// with two 512-bit ports; client parts have one); AMD family 19h (Zen 4) has AVX-512 on two 256-bit pipes, so 2 × 8.
/// Override with --fma-units, --lanes and --ghz (e.g. the all-core boost clock).</item>
/// </list>
/// </summary>
internal sealed record CpuPeak(string Model, int Cores, double Ghz, int FmaUnits, int Lanes, string Basis)
{
    /// <summary>Peak of one core: what a single-threaded kernel can reach.</summary>
    public double CoreGflops => Ghz * FmaUnits * Lanes * 2;

    public double MachineGflops => Cores * CoreGflops;

    public static CpuPeak Detect(int? fmaUnits, int? lanes, double? ghz)
    {
        string model = "unknown", vendor = "";
        int family = -1;
        double mhz = 0;
        var cores = new HashSet<(string, string)>();
        string physical = "0";
        if (File.Exists("/proc/cpuinfo"))
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
                switch (key)
                {
                    case "model name" when model == "unknown": model = value; break;
                    case "vendor_id" when vendor.Length == 0: vendor = value; break;
                    case "cpu family" when family < 0: family = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "cpu MHz" when mhz == 0: mhz = double.Parse(value, CultureInfo.InvariantCulture); break;
                    case "physical id": physical = value; break;
                    case "core id": cores.Add((physical, value)); break;
                }
            }
        }
        int coreCount = cores.Count > 0 ? cores.Count : Environment.ProcessorCount;

        bool zen4 = vendor == "AuthenticAMD" && family == 0x19;
        (int units, int width, string basis) =
            Avx512F.IsSupported && Vector512.IsHardwareAccelerated
                ? zen4 ? (2, 8, "AVX-512 on Zen 4: two 256-bit FMA pipes") : (2, 16, "AVX-512: two 512-bit FMA ports")
            : Fma.IsSupported ? (2, 8, "AVX2+FMA: two 256-bit FMA ports")
            : (1, 4, "no FMA: one 128-bit multiply-add per cycle");
        if (fmaUnits is { } u) { units = u; basis += $" (FMA units overridden to {u})"; }
        if (lanes is { } l) { width = l; basis += $" (lanes overridden to {l})"; }
        if (ghz is { } g) basis += $" (clock overridden to {g} GHz)";
        return new CpuPeak(model, coreCount, ghz ?? mhz / 1000, units, width, basis);
    }
}
