namespace Distributed.Simulation;

/// <summary>One transfer of a step: <see cref="Bytes"/> from node <see cref="From"/> to node <see cref="To"/>.</summary>
public readonly record struct Flow(int From, int To, long Bytes);
