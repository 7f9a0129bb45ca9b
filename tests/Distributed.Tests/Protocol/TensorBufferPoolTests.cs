using Distributed.Protocol;
using Distributed.Cluster.Transport;

namespace Distributed.Tests.Protocol;

public sealed class TensorBufferPoolTests
{
    [Fact]
    public void A_returned_array_is_rented_again_but_only_for_its_exact_length()
    {
        var pool = new TensorBufferPool(maxRetainedBytes: 1 << 20);
        var first = pool.Rent(1000);
        pool.Return(first);

        var otherLength = pool.Rent(999);
        var sameLength = pool.Rent(1000);

        Assert.Equal(999, otherLength.Length);
        Assert.Same(first, sameLength);
        Assert.NotSame(first, pool.Rent(1000));
    }

    [Fact]
    public void An_array_returned_twice_is_still_handed_to_only_one_renter()
    {
        var pool = new TensorBufferPool(maxRetainedBytes: 1 << 20);
        var array = pool.Rent(500);
        pool.Return(array);
        pool.Return(array);

        var first = pool.Rent(500);
        var second = pool.Rent(500);

        Assert.Same(array, first);
        Assert.NotSame(first, second);
        Assert.Equal(0, pool.RetainedBytes);
    }

    [Fact]
    public void The_pool_keeps_no_more_than_its_byte_budget_and_its_per_length_count()
    {
        var byBytes = new TensorBufferPool(maxRetainedBytes: 3 * 1000 * sizeof(float));
        for (var i = 0; i < 5; i++) byBytes.Return(new float[1000]);
        Assert.Equal(3 * 1000 * sizeof(float), byBytes.RetainedBytes);

        var byCount = new TensorBufferPool(maxRetainedBytes: 1 << 20, maxPerLength: 2);
        for (var i = 0; i < 5; i++) byCount.Return(new float[10]);
        Assert.Equal(2 * 10 * sizeof(float), byCount.RetainedBytes);
    }
}
