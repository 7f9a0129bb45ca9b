using System.Collections.Frozen;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Remote.Serialization;
using Akka.Serialization;

namespace Distributed.Cluster.Hosting;

/// <summary>
/// Akka.Remote's serializer for its miscellaneous messages, restricted to the ones a cluster of ours exchanges:
/// Identify and its answer (worker discovery), actor references, and remote-watch heartbeats. Kill (which untrusted
/// mode does not drop), PoisonPill, Status replies carrying exceptions built by type name, and router and
/// configuration objects are refused when they come in. It keeps Akka's identifier, so it takes the original's place.
/// </summary>
public sealed class AllowedMiscSerializer : SerializerWithStringManifest
{
    public const int MiscIdentifier = 16;

    /// <summary>Manifests of Akka.Remote's MiscMessageSerializer: Identify, ActorIdentity, IActorRef, remote-watch heartbeat and its answer.</summary>
    private static readonly FrozenSet<string> Allowed = new[] { "ID", "AID", "AR", "RWHB", "RWHR" }.ToFrozenSet();

    private readonly MiscMessageSerializer _inner;

    public AllowedMiscSerializer(ExtendedActorSystem system) : base(system) => _inner = new MiscMessageSerializer(system);

    public override int Identifier => MiscIdentifier;

    public override string Manifest(object o) => _inner.Manifest(o);

    public override byte[] ToBinary(object obj) => _inner.ToBinary(obj);

    public override object FromBinary(byte[] bytes, string manifest) => Allowed.Contains(manifest)
        ? _inner.FromBinary(bytes, manifest)
        : throw new SerializationException($"an Akka message with manifest '{manifest}' (Kill, PoisonPill, Status, router or configuration) was refused: " +
            "peers may only send Identify, actor references and remote-watch heartbeats through Akka's misc serializer");
}
