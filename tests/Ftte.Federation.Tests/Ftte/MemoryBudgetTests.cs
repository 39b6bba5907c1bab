using Ftte.Federation.Selection;

namespace Ftte.Federation.Tests.FtteTests;

public class MemoryBudgetTests
{
    private static IReadOnlyList<DeviceInfo> Fleet(params long[] memory) =>
        [.. memory.Select((m, i) => new DeviceInfo(i, "t", m, 1e9, 1e6, 1e6, 0.1, 10))];

    [Fact]
    public void Minimum_IsTheSmallestDeclaredMemory()
    {
        Assert.Equal(100, MemoryBudget.Parse("min").Resolve(Fleet(500, 100, 300)));
        Assert.Equal(100, MemoryBudget.Minimum.Resolve(Fleet(100)));
    }

    [Fact]
    public void Quantile_LeavesAtMostThatShareBelow()
    {
        var fleet = Fleet(10, 20, 30, 40, 50, 60, 70, 80, 90, 100);
        Assert.Equal(10, MemoryBudget.Parse("q0").Resolve(fleet));
        Assert.Equal(20, MemoryBudget.Parse("q0.1").Resolve(fleet));   // one device of ten below
        Assert.Equal(30, MemoryBudget.Parse("q0.25").Resolve(fleet));  // ⌊2.5⌋ = 2 below
        Assert.Equal(100, MemoryBudget.Parse("q1").Resolve(fleet));    // clamped to the largest
    }

    [Fact]
    public void Fixed_ParsesByteSizes_AndIgnoresTheFleet()
    {
        Assert.Equal(512 * 1024, MemoryBudget.Parse("512KiB").Resolve(Fleet(1)));
        Assert.Equal(262144, MemoryBudget.Parse("262144").Resolve(Fleet(1)));
        Assert.Equal("q0.1", MemoryBudget.Parse("q0.1").ToString());
    }

    [Theory]
    [InlineData("q1.5")]
    [InlineData("qx")]
    [InlineData("lots")]
    [InlineData("0")]
    public void Malformed_IsRejectedWithTheRules(string text) =>
        Assert.ThrowsAny<Exception>(() => MemoryBudget.Parse(text));
}
