namespace Distributed.Simulation;

/// <summary>
/// One applied step of a simulation: its time as the real coordinator measured it on the simulated clock, the
/// bytes the coordinator, the busiest server and a mean worker moved (both ways), and the busiest link with
/// the share of the step its busier direction was occupied. On the coordinator path the one server shares the
/// coordinator's node, so its bytes are the coordinator's. <see cref="Samples"/> were applied; with backup workers
/// <see cref="SkippedSamples"/> were in shards the step went ahead without; under bounded staleness
/// <see cref="MaxStaleness"/> is how many steps old the stalest applied gradient's weights were. <see cref="CompletedSeconds"/> is the
/// simulated time the coordinator reported the step: under bounded staleness steps overlap, so throughput comes from
/// the gaps between completions, not from the step times.
/// </summary>
public sealed record SimulatedStep(
    long Step,
    double StepMilliseconds,
    long CoordinatorBytes,
    long MaxServerBytes,
    double MeanWorkerBytes,
    string BusiestLink,
    long BusiestLinkBytes,
    double BusiestLinkUtilization,
    int Samples,
    int SkippedSamples,
    int MaxStaleness,
    double CompletedSeconds);
