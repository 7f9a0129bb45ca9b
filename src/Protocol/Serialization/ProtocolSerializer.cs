using System.Collections.Frozen;
using System.Reflection;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using MessagePack;
using MessagePack.Resolvers;

namespace Distributed.Protocol.Serialization;

/// <summary>
/// The one serializer for <see cref="IProtocolMessage"/>: MessagePack with explicit keys, the type named by a
/// short stable manifest. It is closed: a type or manifest outside this assembly's protocol is refused, so a
/// peer cannot make a node instantiate arbitrary types.
/// </summary>
public sealed class ProtocolSerializer : SerializerWithStringManifest
{
    public const int SerializerId = 4107;

    private static readonly FrozenDictionary<Type, string> ManifestByType = DiscoverMessageTypes();
    private static readonly FrozenDictionary<string, Type> TypeByManifest =
        ManifestByType.ToFrozenDictionary(pair => pair.Value, pair => pair.Key);

    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(
            [new FloatArrayFormatter()],
            [StandardResolver.Instance]))
        .WithSecurity(MessagePackSecurity.UntrustedData);

    public ProtocolSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => SerializerId;

    public static IReadOnlyCollection<Type> MessageTypes => ManifestByType.Keys;

    public override string Manifest(object o) =>
        ManifestByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException($"{o.GetType().FullName} is not a Distributed protocol message and is not serialized.");

    public override byte[] ToBinary(object obj) =>
        MessagePackSerializer.Serialize(obj.GetType(), obj, Options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!TypeByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"Unknown protocol message type '{manifest}': refused.");
        return MessagePackSerializer.Deserialize(type, bytes, Options)
            ?? throw new SerializationException($"Message '{manifest}' deserialized to null.");
    }

    private static FrozenDictionary<Type, string> DiscoverMessageTypes()
    {
        var types = typeof(IProtocolMessage).Assembly.GetTypes()
            .Where(t => typeof(IProtocolMessage).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
            .ToList();
        foreach (var type in types)
        {
            if (!type.IsSealed || type.GetCustomAttribute<MessagePackObjectAttribute>() is null)
                throw new InvalidOperationException($"Protocol message {type.FullName} must be a sealed [MessagePackObject] record.");
        }
        return types.ToFrozenDictionary(t => t, t => t.Name);
    }
}
