using Ftte.Reporting.Svg.Internal;

namespace Ftte.Reporting.Tests.Svg;

public sealed class NiceScaleTests
{
    [Fact]
    public void Create_ZeroToOne_StepsOfPointTwo()
    {
        // Act
        NiceScale scale = NiceScale.Create(0, 1);

        // Assert
        Assert.Equal([0, 0.2, 0.4, 0.6, 0.8, 1.0], scale.Ticks());
        Assert.Equal(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"], scale.Ticks().Select(scale.Format));
    }

    [Theory]
    [InlineData(0.13, 0.94, 0.0, 1.0, 0.2)]
    [InlineData(0, 3600, 0, 4000, 1000)]
    [InlineData(3, 97, 0, 100, 20)]
    [InlineData(-7, 12, -10, 15, 5)]
    [InlineData(0.001, 0.0042, 0.001, 0.005, 0.001)]
    [InlineData(0, 2.42, 0, 2.5, 0.5)]
    [InlineData(0, 0.2, 0, 0.2, 0.05)]
    public void Create_Range_NiceBoundsAndStep(double min, double max, double lo, double hi, double step)
    {
        // Act
        NiceScale scale = NiceScale.Create(min, max);

        // Assert
        Assert.Equal(lo, scale.Min, 12);
        Assert.Equal(hi, scale.Max, 12);
        Assert.Equal(step, scale.Step, 12);
        Assert.True(scale.TickCount is >= 3 and <= 11);
    }

    [Fact]
    public void Create_ManyRanges_AtMostMaxTicksCoveringData()
    {
        // Arrange
        var random = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            double a = (random.NextDouble() - 0.3) * Math.Pow(10, random.Next(-6, 9));
            double b = a + random.NextDouble() * Math.Pow(10, random.Next(-6, 9));

            // Act
            NiceScale scale = NiceScale.Create(a, b, maxTicks: 6);

            // Assert
            Assert.InRange(scale.TickCount, 2, 6);
            // Within a billionth of a step: what the scale forgives as floating-point noise.
            Assert.True(scale.Min <= a + scale.Step * 1e-9, $"{a}..{b}: {scale}");
            Assert.True(scale.Max >= b - scale.Step * 1e-9, $"{a}..{b}: {scale}");
        }
    }

    [Fact]
    public void Create_PointOneToPointThree_TicksHaveNoFloatingNoise()
    {
        // Act
        NiceScale scale = NiceScale.Create(0.1, 0.3);

        // Assert
        Assert.All(scale.Ticks().Select(scale.Format), t => Assert.True(t.Length <= 4, t));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(5.0)]
    [InlineData(-2.5)]
    [InlineData(1e-9)]
    public void Create_EqualBounds_NonEmptyRangeAroundValue(double value)
    {
        // Act
        NiceScale scale = NiceScale.Create(value, value);

        // Assert
        Assert.True(scale.Max > scale.Min);
        Assert.InRange(value, scale.Min, scale.Max);
        Assert.True(double.IsFinite(scale.Fraction(value)));
    }

    [Fact]
    public void Create_NonFinite_ZeroToOne()
    {
        // Act
        NiceScale scale = NiceScale.Create(double.NaN, double.PositiveInfinity);

        // Assert
        Assert.Equal(0, scale.Min);
        Assert.Equal(1, scale.Max);
    }

    [Fact]
    public void Format_NegativeZero_NoMinusSign()
    {
        Assert.Equal("0.0", NiceScale.Create(-1, 1).Format(-0.0));
    }
}
