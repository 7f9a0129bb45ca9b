namespace Distributed.Protocol.Serialization;

/// <summary>
/// Which of Akka's serializers a node may decode from the wire. Akka registers, next to its own system, remoting
/// and cluster serializers, a few open ones that build whatever type a frame names; each of those is replaced by a
/// <see cref="RefusedSerializer"/> under its own identifier. What stays: the protocol serializer and Akka's
/// serializers for its own messages (actor selection, Identify and remote watch, system messages, cluster gossip
/// and heartbeats, primitives).
/// </summary>
public static class ClosedWire
{
    /// <summary>Akka's open serializers: name in `akka.actor.serializers` and the identifier frames carry.</summary>
    public static IReadOnlyList<(string Name, int Identifier)> Closed { get; } =
    [
        ("json", 1),          // Newtonsoft with type names: builds any type a peer names
        ("proto", 2),         // any Google.Protobuf message, by type name
        ("daemon-create", 3), // remote deployment: Props with types from the wire (we never deploy remotely)
        ("bytes", 4),         // raw byte arrays: nothing of ours sends them
    ];

    /// <summary>HOCON that puts a <see cref="RefusedSerializer"/> in place of each open serializer; prepend it to the node's configuration.</summary>
    public static string Hocon()
    {
        var type = typeof(RefusedSerializer).AssemblyQualifiedName;
        var serializers = string.Join("\n", Closed.Select(s => $"    {s.Name} = \"{type}\""));
        var settings = string.Join("\n", Closed.Select(s => $"    {s.Name} {{ refused-identifier = {s.Identifier}, refused-name = \"{s.Name}\" }}"));
        return $$"""
            akka.actor.serializers {
            {{serializers}}
            }
            akka.actor.serialization-settings {
            {{settings}}
            }
            """;
    }
}
