using Akka.Configuration;

namespace Distributed.Tests.Support;

/// <summary>
/// TestKit systems bound to the protocol serializer exactly as the hosts bind it. With serialize-messages on,
/// every protocol message between actors is serialized and deserialized, so a simulation exercises the wire
/// format as a real cluster would.
/// </summary>
public static class AkkaTestConfig
{
    public static Config WithProtocolSerialization(bool serializeEveryMessage = true) => ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = WARNING
          actor {
            serialize-messages = {{(serializeEveryMessage ? "on" : "off")}}
            serializers { distributed-protocol = "Distributed.Protocol.Serialization.ProtocolSerializer, Distributed.Protocol" }
            serialization-bindings { "Distributed.Protocol.IProtocolMessage, Distributed.Protocol" = distributed-protocol }
          }
        }
        """);
}
