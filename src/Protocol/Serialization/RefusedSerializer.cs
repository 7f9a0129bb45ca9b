using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Distributed.Protocol.Serialization;

/// <summary>
/// Takes the place of one of Akka's open serializers (JSON with type names, protobuf by type name, remote deployment,
/// raw bytes) under that serializer's identifier, so a frame naming it is refused instead of decoded: the JSON
/// serializer would build any type a peer names. It also refuses to encode, so nothing of ours leaves through it.
/// The identifier comes from the serializer's `serialization-settings` entry (see <see cref="ClosedWire"/>).
/// </summary>
public sealed class RefusedSerializer : Serializer
{
    private readonly int _identifier;
    private readonly string _name;

    public RefusedSerializer(ExtendedActorSystem system) : this(system, ConfigurationFactory.Empty) { }

    public RefusedSerializer(ExtendedActorSystem system, Config config) : base(system)
    {
        _identifier = config.GetInt("refused-identifier", 0);
        if (_identifier == 0)
            throw new ArgumentException("RefusedSerializer needs 'refused-identifier' in its serialization-settings: the identifier of the serializer it replaces");
        _name = config.GetString("refused-name", $"serializer {_identifier}");
    }

    public override int Identifier => _identifier;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType().FullName} would go out through Akka's {_name} serializer, which is closed on this cluster: " +
            "only protocol messages (IProtocolMessage) and Akka's own system and cluster messages travel");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException($"a frame for Akka's {_name} serializer (id {_identifier}) was refused: this cluster only decodes " +
            "protocol messages and Akka's own system and cluster messages");
}
