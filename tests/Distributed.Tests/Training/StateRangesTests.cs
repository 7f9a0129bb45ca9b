using Distributed.ParameterServer;

namespace Distributed.Tests.Training;

public sealed class StateRangesTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(270_810)]
    public void One_server_owns_the_whole_state(int length)
    {
        Assert.Equal([new StateRange(0, length)], StateRanges.Split(length, 1));
    }

    [Theory]
    [InlineData(32, 2)]
    [InlineData(33, 3)]
    [InlineData(1000, 7)]
    [InlineData(270_810, 2)]
    [InlineData(270_810, 3)]
    [InlineData(270_810, 4)]
    [InlineData(270_810, 64)]
    [InlineData(64 * 16, 64)]
    public void Ranges_cover_the_state_exactly_once_start_on_whole_blocks_and_are_equal_to_within_two_blocks(int length, int servers)
    {
        var ranges = StateRanges.Split(length, servers);

        Assert.Equal(servers, ranges.Count);
        Assert.Equal(0, ranges[0].Start);
        Assert.Equal(length, ranges[^1].End);
        for (var i = 0; i < ranges.Count; i++)
        {
            Assert.True(ranges[i].Length > 0, $"range {i} {ranges[i]} is empty");
            Assert.Equal(0, ranges[i].Start % StateRanges.Alignment);
            if (i > 0) Assert.Equal(ranges[i - 1].End, ranges[i].Start);
        }
        // Whole ranges differ by at most one block; the last may also lack part of its final block.
        var sizes = ranges.Select(r => r.Length).ToList();
        Assert.True(sizes.Max() - sizes.Min() < 2 * StateRanges.Alignment, $"sizes {string.Join(", ", sizes)} are not balanced");
    }

    [Fact]
    public void More_servers_than_blocks_of_sixteen_values_are_refused_naming_the_most_that_fit()
    {
        var error = Assert.Throws<ArgumentException>(() => StateRanges.Split(40, 4));
        Assert.Equal("4 parameter servers for a state of 40 values: each needs at least one block of 16 values, so at most 3 servers", error.Message);
        Assert.Equal(3, StateRanges.Split(40, 3).Count);
        Assert.Throws<ArgumentException>(() => StateRanges.Split(40, 0));
        Assert.Throws<ArgumentException>(() => StateRanges.Split(0, 1));
    }

    [Fact]
    public void A_range_knows_how_many_of_its_values_are_trainable_parameters()
    {
        Assert.Equal(16, new StateRange(0, 16).ParametersIn(100));
        Assert.Equal(4, new StateRange(96, 112).ParametersIn(100));
        Assert.Equal(0, new StateRange(112, 120).ParametersIn(100));
    }
}
