using Distributed.Protocol;
using Distributed.Protocol.Serialization;
using MessagePack;

namespace Distributed.Tests.Protocol;

public sealed class WorkerStateWireTests
{
    [Theory]
    [InlineData(WorkerState.Joining, "joining")]
    [InlineData(WorkerState.Live, "live")]
    [InlineData(WorkerState.Unreachable, "unreachable")]
    [InlineData(WorkerState.Rejected, "rejected")]
    [InlineData(WorkerState.Gone, "gone")]
    public void A_worker_state_travels_as_the_text_operators_read(WorkerState state, string text)
    {
        var bytes = MessagePackSerializer.Serialize(new WorkerStatus("worker-1", state, 3, 1.5, 0), ProtocolSerializer.Options);
        var fields = MessagePackSerializer.Deserialize<object[]>(bytes, ProtocolSerializer.Options);
        Assert.Equal(text, fields[1]);
        Assert.Equal(text, state.Text());
        Assert.Equal(state, MessagePackSerializer.Deserialize<WorkerStatus>(bytes, ProtocolSerializer.Options).State);
    }
}
