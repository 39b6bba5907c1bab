using System.Text.RegularExpressions;
using System.Xml.Linq;
using Ftte.Reporting.Tests.Svg;

namespace Ftte.Reporting.Tests;

public sealed partial class HtmlReportTests
{
    [GeneratedRegex("<svg.*?</svg>", RegexOptions.Singleline)]
    private static partial Regex SvgElement();

    private static List<XDocument> Svgs(string html) => [.. SvgElement().Matches(html).Select(m => SvgAssert.Parse(m.Value))];

    [Fact]
    public void Render_ThreeStrategies_EachInSummaryAndCharts()
    {
        // Act
        string html = HtmlReport.Render(TestRuns.Comparison("fedavg", "fedbuff", "ftte"));

        // Assert
        foreach (string strategy in new[] { "fedavg", "fedbuff", "ftte" })
            Assert.Contains($"<td>{strategy}</td>", html);
        List<XDocument> svgs = Svgs(html);
        Assert.Equal(2 + 3 + 1, svgs.Count); // accuracy, bytes, one histogram per strategy, participation
        Assert.Equal(3, SvgAssert.ByClass(svgs[0], "polyline", "series-line").Count);
        Assert.Single(SvgAssert.ByClass(svgs[0], "line", "target"));
        Assert.Equal(3 * 3, SvgAssert.ByClass(svgs[^1], "rect", "bar").Count);
    }

    [Fact]
    public void Render_Page_SelfContainedWithoutScriptsOrUrls()
    {
        // Act
        string html = HtmlReport.Render(TestRuns.Comparison("fedavg", "ftte"));

        // Assert
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<style>", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http:", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https:", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SetupAndSummary_HumanReadableValues()
    {
        // Act
        string html = HtmlReport.Render(TestRuns.Comparison("ftte"));

        // Assert
        Assert.Contains("<tr><th>dataset</th><td>mnist</td></tr>", html);
        Assert.Contains("20 min 35 s", html);   // time to target 1234.5 s, rounded half away from zero
        Assert.Contains("40.00 MiB", html);     // bytes down
        Assert.Contains("256.0 KiB", html);     // peak planned memory
        Assert.Contains("93.12%", html);        // final accuracy
        Assert.Contains("10 (8.1%)", html);     // devices excluded and data share
        Assert.Contains("<td class=\"num\">13 s</td>", html); // wall time 12.75 s
    }

    [Fact]
    public void Render_TargetNotReachedAndNotes_Shown()
    {
        // Arrange
        var comparison = new Comparison("t", [], [TestRuns.Run("fedavg", timeToTarget: null, notes: ["memory check off"])]);

        // Act
        string html = HtmlReport.Render(comparison);

        // Assert
        Assert.Contains("not reached", html);
        Assert.Contains("<li><strong>fedavg:</strong> memory check off</li>", html);
    }

    [Fact]
    public void Render_MarkupInTitleAndNames_Escaped()
    {
        // Arrange
        var comparison = new Comparison("<script>x</script>", [new("a&b", "<c>")], [TestRuns.Run("f<o>o & \"bar\"")]);

        // Act
        string html = HtmlReport.Render(comparison);

        // Assert
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;x&lt;/script&gt;", html);
        Assert.Contains("f&lt;o&gt;o &amp; &quot;bar&quot;", html);
        Assert.All(Svgs(html), doc => Assert.NotNull(doc.Root));
    }

    [Fact]
    public void Render_NoRuns_PageWithoutCharts()
    {
        // Act
        string html = HtmlReport.Render(new Comparison("empty", [], []));

        // Assert
        Assert.Contains("No runs.", html);
        Assert.Empty(Svgs(html));
        Assert.EndsWith("</html>\n", html);
    }

    [Fact]
    public void Render_RunWithoutPoints_ChartsStillParse()
    {
        // Arrange
        var comparison = new Comparison("t", [], [new RunResult(TestRuns.Summary("a"), [])]);

        // Act
        List<XDocument> svgs = Svgs(HtmlReport.Render(comparison));

        // Assert
        Assert.Equal(4, svgs.Count);
    }

    [Fact]
    public void Render_LongRun_TimeAxisInHours()
    {
        // Arrange
        var run = new RunResult(TestRuns.Summary("a"), [TestRuns.Point(0, 0, 0.1), TestRuns.Point(36_000, 100, 0.9)]);

        // Act
        string html = HtmlReport.Render(new Comparison("t", [], [run]));

        // Assert
        Assert.Contains("virtual time (h)", html);
    }

    [Fact]
    public void Render_SameComparison_SameText()
    {
        Assert.Equal(HtmlReport.Render(TestRuns.Comparison("a", "b")), HtmlReport.Render(TestRuns.Comparison("a", "b")));
    }

    [Fact]
    public void ReportFilesWrite_Directory_ThreeFiles()
    {
        // Arrange
        string dir = Path.Combine(Directory.CreateTempSubdirectory("ftte-report-").FullName, "out");
        try
        {
            // Act
            IReadOnlyList<string> paths = ReportFiles.Write(dir, TestRuns.Comparison("fedavg", "ftte"));

            // Assert
            Assert.Equal(["metrics.csv", "summary.json", "report.html"], paths.Select(Path.GetFileName));
            Assert.All(paths, p => Assert.True(new FileInfo(p).Length > 0));
            Assert.DoesNotContain("wall_s", File.ReadAllText(paths[0]));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }
}
