namespace Ftte.Data.Tests;

public sealed class PartitionerTests
{
    public static TheoryData<PartitionScheme> Schemes =>
        [PartitionScheme.Iid, PartitionScheme.Dirichlet, PartitionScheme.Shards, PartitionScheme.QuantitySkew];

    private static Dataset Mnist => SharedData.Get("mnist").Train;

    private static Dataset Digits => SharedData.Get("digits").Train;

    [Theory]
    [MemberData(nameof(Schemes))]
    public void Split_AnyScheme_IsDisjointAndCoversTheDataset(PartitionScheme scheme)
    {
        // Arrange
        var options = new PartitionOptions { Devices = 37, Scheme = scheme, Seed = 5 };

        // Act
        Partition partition = Partitioner.Split(Digits, options);

        // Assert
        var seen = new int[Digits.Count];
        for (int d = 0; d < partition.DeviceCount; d++)
        {
            foreach (int i in partition.TrainIndices(d).Span) seen[i]++;
            foreach (int i in partition.ValidationIndices(d).Span) seen[i]++;
            Assert.Equal(partition.SampleCount(d), partition.TrainIndices(d).Length + partition.ValidationIndices(d).Length);
        }
        Assert.All(seen, n => Assert.Equal(1, n));
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public void Split_SameSeed_ReproducesTheSamePartition(PartitionScheme scheme)
    {
        // Arrange
        var options = new PartitionOptions { Devices = 50, Scheme = scheme, Seed = 11 };

        // Act
        Partition a = Partitioner.Split(Digits, options);
        Partition b = Partitioner.Split(Digits, options);
        Partition c = Partitioner.Split(Digits, new PartitionOptions { Devices = 50, Scheme = scheme, Seed = 12 });

        // Assert
        Assert.All(Enumerable.Range(0, 50), d =>
        {
            Assert.Equal(a.TrainIndices(d).ToArray(), b.TrainIndices(d).ToArray());
            Assert.Equal(a.ValidationIndices(d).ToArray(), b.ValidationIndices(d).ToArray());
        });
        Assert.Contains(Enumerable.Range(0, 50), d => !a.Indices(d).Span.SequenceEqual(c.Indices(d).Span));
    }

    [Fact]
    public void Split_DirichletLargeAlpha_ApproachesIid()
    {
        // Arrange
        var iid = new PartitionOptions { Devices = 100, Scheme = PartitionScheme.Iid, Seed = 1 };
        var large = new PartitionOptions { Devices = 100, Scheme = PartitionScheme.Dirichlet, DirichletAlpha = 10_000, Seed = 1 };
        var moderate = new PartitionOptions { Devices = 100, Scheme = PartitionScheme.Dirichlet, DirichletAlpha = 1, Seed = 1 };

        // Act
        PartitionStats iidStats = PartitionStats.Compute(Partitioner.Split(Mnist, iid));
        PartitionStats largeStats = PartitionStats.Compute(Partitioner.Split(Mnist, large));
        PartitionStats moderateStats = PartitionStats.Compute(Partitioner.Split(Mnist, moderate));

        // Assert: measured IID TV ≈ 0.05 (600 samples, 10 classes); α = 10⁴ within 20 % of it, α = 1 far above.
        Assert.InRange(largeStats.LabelDistance.Mean, 0, iidStats.LabelDistance.Mean * 1.2);
        Assert.Equal(10, largeStats.ClassesPerDevice.Min);
        Assert.True(moderateStats.LabelDistance.Mean > 4 * iidStats.LabelDistance.Mean);
    }

    [Theory]
    [InlineData(0.01, 2.0, 0.5)]
    [InlineData(0.05, 4.0, 1.0)]
    public void Split_DirichletSmallAlpha_GivesFewClassesPerDevice(double alpha, double maxMedianClasses, double maxMeanEntropyBits)
    {
        // Arrange
        var options = new PartitionOptions { Devices = 100, Scheme = PartitionScheme.Dirichlet, DirichletAlpha = alpha, Seed = 1 };

        // Act
        PartitionStats stats = PartitionStats.Compute(Partitioner.Split(Mnist, options));

        // Assert: IID has all 10 classes and ≈3.3 bits on every device. Measured (seed 1): α = 0.01 → median
        // 2 classes, 0.31 bits; α = 0.05 → median 4 classes present but 0.84 bits, i.e. one or two dominate.
        Assert.InRange(stats.ClassesPerDevice.Median, 1, maxMedianClasses);
        Assert.InRange(stats.LabelEntropyBits.Mean, 0, maxMeanEntropyBits);
    }

    [Fact]
    public void Split_DirichletAlpha_SkewFallsAsAlphaGrows()
    {
        // Arrange
        double[] alphas = [0.05, 0.5, 5, 500];

        // Act
        double[] distances = [.. alphas.Select(a => PartitionStats.Compute(Partitioner.Split(Mnist,
            new PartitionOptions { Devices = 100, Scheme = PartitionScheme.Dirichlet, DirichletAlpha = a, Seed = 2 })).LabelDistance.Mean)];

        // Assert
        Assert.Equal(distances.OrderDescending(), distances);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Split_Shards_GivesExactlyKClassesPerDevice(int k)
    {
        // Arrange
        var options = new PartitionOptions { Devices = 100, Scheme = PartitionScheme.Shards, ClassesPerDevice = k, Seed = 3 };

        // Act
        PartitionStats stats = PartitionStats.Compute(Partitioner.Split(Mnist, options));

        // Assert
        Assert.Equal(k, stats.ClassesPerDevice.Min);
        Assert.Equal(k, stats.ClassesPerDevice.Max);
    }

    [Fact]
    public void Split_QuantitySkew_SizesSpreadWithSigma()
    {
        // Arrange
        var flat = new PartitionOptions { Devices = 100, Scheme = PartitionScheme.QuantitySkew, QuantitySigma = 0, Seed = 4 };
        var skewed = new PartitionOptions { Devices = 100, Scheme = PartitionScheme.QuantitySkew, QuantitySigma = 1.5, Seed = 4 };

        // Act
        StatSummary flatSizes = PartitionStats.Compute(Partitioner.Split(Mnist, flat)).SamplesPerDevice;
        StatSummary skewedSizes = PartitionStats.Compute(Partitioner.Split(Mnist, skewed)).SamplesPerDevice;

        // Assert
        Assert.True(flatSizes.Max - flatSizes.Min <= 1);
        Assert.True(skewedSizes.Max > 10 * skewedSizes.Min, $"{skewedSizes}");
        Assert.True(skewedSizes.Min >= 1);
    }

    [Fact]
    public void Split_Natural_KeepsEachGroupOnOneDevice()
    {
        // Arrange
        int[] groups = [.. Enumerable.Range(0, Digits.Count).Select(i => i % 23)];
        var data = new Dataset("grouped", Digits.Features, Digits.Labels, Digits.SampleShape, Digits.ClassCount, groups);
        var options = new PartitionOptions { Devices = 5, Scheme = PartitionScheme.Natural, Seed = 6 };

        // Act
        Partition partition = Partitioner.Split(data, options);

        // Assert
        var deviceOfGroup = new Dictionary<int, int>();
        for (int d = 0; d < partition.DeviceCount; d++)
        {
            foreach (int i in partition.Indices(d).Span)
                Assert.Equal(d, deviceOfGroup.TryAdd(groups[i], d) ? d : deviceOfGroup[groups[i]]);
        }
        Assert.Equal(23, deviceOfGroup.Count);
        Assert.Equal(Digits.Count, Enumerable.Range(0, 5).Sum(partition.SampleCount));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    [InlineData(0.5)]
    public void Split_ValidationFraction_HoldsOutThatShareOfEachDevice(double fraction)
    {
        // Arrange
        var options = new PartitionOptions { Devices = 10, ValidationFraction = fraction, Seed = 7 };

        // Act
        Partition partition = Partitioner.Split(Digits, options);

        // Assert
        Assert.All(Enumerable.Range(0, 10), d =>
            Assert.Equal((int)Math.Floor(fraction * partition.SampleCount(d) + 0.5), partition.ValidationIndices(d).Length));
    }

    [Fact]
    public void Split_TenThousandDevicesOverMnist_CostsIndicesOnly()
    {
        // Arrange
        Dataset mnist = Mnist;
        var options = new PartitionOptions { Devices = 10_000, Scheme = PartitionScheme.Dirichlet, DirichletAlpha = 0.5, Seed = 8 };
        long before = GC.GetAllocatedBytesForCurrentThread();

        // Act
        Partition partition = Partitioner.Split(mnist, options);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert: 4·(60,000 + 10,001 + 10,000) bytes kept; all allocation while splitting under 2 MB vs 188 MB of features.
        Assert.Equal(4L * (60_000 + 10_001 + 10_000), partition.IndexBytes);
        Assert.InRange(allocated, partition.IndexBytes, 2_000_000);
        Assert.Same(mnist, partition.Train(0).Dataset);
    }

    [Fact]
    public void Train_DeviceView_ReadsSamplesFromTheSharedFeatures()
    {
        // Arrange
        Partition partition = Partitioner.Split(Digits, new PartitionOptions { Devices = 4, Seed = 9 });

        // Act
        DatasetView view = partition.Train(2);

        // Assert
        int first = partition.TrainIndices(2).Span[0];
        Assert.True(view.Sample(0).SequenceEqual(Digits.Sample(first)));
        Assert.Equal(Digits.Labels[first], view.Label(0));
    }

    [Theory]
    [InlineData(0, PartitionScheme.Iid, "Devices")]
    [InlineData(2000, PartitionScheme.Iid, "use at most that many devices")]
    [InlineData(10, PartitionScheme.Natural, "no natural group column")]
    public void Split_InvalidOptions_ThrowsSayingWhatToChange(int devices, PartitionScheme scheme, string expected)
    {
        // Arrange
        var options = new PartitionOptions { Devices = devices, Scheme = scheme };

        // Act
        var error = Assert.ThrowsAny<ArgumentException>(() => Partitioner.Split(Digits, options));

        // Assert
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Split_NonPositiveAlpha_Throws()
    {
        // Arrange
        var options = new PartitionOptions { Scheme = PartitionScheme.Dirichlet, DirichletAlpha = 0 };

        // Act + Assert
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.Split(Digits, options));
    }
}
