using Akka.Hosting;

namespace Distributed.Protocol.Serialization;

public static class SerializationHostingExtensions
{
    /// <summary>
    /// Binds every <see cref="IProtocolMessage"/> to the MessagePack protocol serializer and closes Akka's open
    /// serializers (<see cref="ClosedWire"/>): the protocol serializer is the only application-level door.
    /// </summary>
    public static AkkaConfigurationBuilder AddProtocolSerialization(this AkkaConfigurationBuilder builder) =>
        builder
            .AddHocon(ClosedWire.Hocon(), HoconAddMode.Prepend)
            .WithCustomSerializer("distributed-protocol", [typeof(IProtocolMessage)], system => new ProtocolSerializer(system));
}
