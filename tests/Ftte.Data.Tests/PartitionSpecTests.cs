namespace Ftte.Data.Tests;

public sealed class PartitionSpecTests
{
    [Fact]
    public void Parse_ReadsEveryKey()
    {
        var spec = PartitionSpec.Parse("mnist:device=3/10,dirichlet=0.5,seed=7,val=0.2");
        Assert.Equal("mnist", spec.Dataset);
        Assert.Equal(3, spec.Device);
        Assert.Equal(10, spec.Options.Devices);
        Assert.Equal(PartitionScheme.Dirichlet, spec.Options.Scheme);
        Assert.Equal(0.5, spec.Options.DirichletAlpha);
        Assert.Equal(7UL, spec.Options.Seed);
        Assert.Equal(0.2, spec.Options.ValidationFraction);
    }

    [Fact]
    public void Parse_DefaultsToIid_Seed1()
    {
        var spec = PartitionSpec.Parse("iris:device=0/2");
        Assert.Equal(PartitionScheme.Iid, spec.Options.Scheme);
        Assert.Equal(1UL, spec.Options.Seed);
    }

    [Theory]
    [InlineData("mnist", "needs a dataset and a device share")]
    [InlineData("cifar:device=0/2", "Unknown dataset 'cifar'")]
    [InlineData("mnist:dirichlet=0.5", "add device=I/N")]
    [InlineData("mnist:device=10/10", "0 ≤ I < N")]
    [InlineData("mnist:device=1/4,iid,shards=2", "two partition schemes")]
    [InlineData("mnist:device=1/4,alpha=2", "Unknown key 'alpha'")]
    [InlineData("mnist:device=1/4,dirichlet=-1", "dirichlet=-1")]
    public void Parse_BadSpec_NamesTheProblem(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => PartitionSpec.Parse(text)).Message);

    [Fact]
    public void DevicesOfOneSpec_HoldDisjointParts_ThatCoverThePartition()
    {
        // Every process partitions the same way and keeps its own part: disjoint without coordination.
        var data = DatasetCatalog.Load("iris");
        var seen = new HashSet<int>();
        int total = 0;
        for (int i = 0; i < 3; i++)
        {
            var spec = PartitionSpec.Parse($"iris:device={i}/3,dirichlet=1,seed=3,val=0");
            var partition = Partitioner.Split(data.Train, spec.Options);
            foreach (int index in partition.TrainIndices(i).ToArray()) Assert.True(seen.Add(index));
            total += spec.Load().Count;
        }
        Assert.Equal(data.Train.Count, total);
    }
}
