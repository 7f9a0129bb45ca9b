using Akka.Hosting;

namespace Distributed.Protocol.Serialization;

public static class SerializationHostingExtensions
{
    /// <summary>Binds every <see cref="IProtocolMessage"/> to the MessagePack protocol serializer.</summary>
    public static AkkaConfigurationBuilder AddProtocolSerialization(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer("distributed-protocol", [typeof(IProtocolMessage)],
            system => new ProtocolSerializer(system));
}
