namespace Ftte.Reporting.Tests;

public sealed class HumanFormatTests
{
    [Theory]
    [InlineData(0.0, "0.0 s")]
    [InlineData(0.44, "0.4 s")]
    [InlineData(9.94, "9.9 s")]
    [InlineData(9.96, "10 s")]
    [InlineData(45.2, "45 s")]
    [InlineData(59.7, "1 min 00 s")]
    [InlineData(725, "12 min 05 s")]
    [InlineData(3599.6, "1 h 00 min")]
    [InlineData(3720, "1 h 02 min")]
    [InlineData(86_400 * 3 + 3600 * 4, "3 d 04 h")]
    [InlineData(double.NaN, "—")]
    [InlineData(-1.0, "—")]
    public void Duration_Seconds_TwoUnitsAtMost(double seconds, string expected)
    {
        Assert.Equal(expected, HumanFormat.Duration(seconds));
    }
}
