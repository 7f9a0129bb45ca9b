namespace Distributed.Protocol;

/// <summary>
/// Marker for every message that may cross a process boundary. The protocol serializer is bound to this
/// interface and knows exactly the sealed records of this assembly that implement it, nothing else.
/// </summary>
public interface IProtocolMessage;
