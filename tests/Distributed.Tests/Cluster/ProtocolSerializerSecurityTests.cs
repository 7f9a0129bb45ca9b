using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Distributed.Protocol;
using Distributed.Protocol.Serialization;

namespace Distributed.Tests.Cluster;

/// <summary>
/// The serializer is the door a remote peer knocks on: it must only ever build protocol messages. These go
/// through Akka's own serialization entry points, the ones the remote endpoint reader uses for incoming frames.
/// </summary>
public sealed class ProtocolSerializerSecurityTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serializer-security", ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.distributed-protocol = "{{typeof(ProtocolSerializer).AssemblyQualifiedName}}"
          serialization-bindings { "{{typeof(IProtocolMessage).AssemblyQualifiedName}}" = distributed-protocol }
        }
        akka.loglevel = ERROR
        """));

    [Fact]
    public void An_incoming_frame_naming_a_type_outside_the_protocol_is_refused()
    {
        var serialization = _system.Serialization;
        var someBytes = MessagePack.MessagePackSerializer.Serialize("System.Diagnostics.Process");
        foreach (var manifest in new[] { "System.Diagnostics.Process", "TensorHandle", "ShardContribution", "Evil", "" })
        {
            var error = Assert.ThrowsAny<Exception>(() => serialization.Deserialize(someBytes, ProtocolSerializer.SerializerId, manifest));
            Assert.Contains("refused", (error.InnerException ?? error).Message + error.Message);
        }
    }

    [Fact]
    public void A_type_outside_the_protocol_is_not_serialized_by_the_protocol_serializer()
    {
        var serializer = (SerializerWithStringManifest)_system.Serialization.FindSerializerForType(typeof(RemoteWorkRequest));
        Assert.IsType<ProtocolSerializer>(serializer);
        var error = Assert.Throws<SerializationException>(() => serializer.Manifest(new NotAMessage("x")));
        Assert.Contains("not a Distributed protocol message", error.Message);
    }

    [Fact]
    public void The_wire_messages_of_the_tensor_transport_round_trip_without_any_tensor_bytes()
    {
        var request = new RemoteWorkRequest(new WorkRequest(3, WorkKind.Train, 1, 0, 7, [1, 2, 3], null), new TensorHandle("10.77.0.1", 4100, -42, 37_500_000));
        var completed = new RemoteWorkCompleted(new WorkCompleted(3, WorkKind.Train, 0, 7, 3, 1.5, 2, 12.5, null), new TensorHandle("10.77.0.2", 4101, 99, 37_500_000));
        foreach (object message in new object[] { request, completed })
        {
            var serializer = _system.Serialization.FindSerializerFor(message);
            var bytes = serializer.ToBinary(message);
            Assert.True(bytes.Length < 200, $"{message.GetType().Name} took {bytes.Length} bytes on the wire; a 150 MB tensor handle must stay tiny");
            var back = _system.Serialization.Deserialize(bytes, serializer.Identifier, ((SerializerWithStringManifest)serializer).Manifest(message));
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message), System.Text.Json.JsonSerializer.Serialize(back));
        }
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private sealed record NotAMessage(string Text);
}
