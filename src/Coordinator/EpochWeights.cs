using Akka.Actor;

namespace Distributed.Coordinator;

/// <summary>
/// The [parameters | running statistics] state after the last step of <paramref name="Epoch"/>, told to the
/// observer just before that epoch's <see cref="EpochCompleted"/>. In-process only (the observer lives next to the
/// coordinator); the array is the parameter server's published state, which nothing writes to again.
/// </summary>
public sealed record EpochWeights(int Epoch, long Step, long WeightsVersion, float[] State) : INoSerializationVerificationNeeded;
