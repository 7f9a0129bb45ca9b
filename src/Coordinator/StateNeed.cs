namespace Distributed.Coordinator;

/// <summary>
/// Whether the coordinator needs the values of the state a training step produces, or only where they are served.
/// With range servers on server nodes the workers fetch the new weights from the server nodes, so fetching the whole
/// state to the coordinator's node every step would cost a state per step for nothing. It needs the values to hand them
/// on at an epoch's end (<see cref="EpochWeights"/>) and at the run's end, before and after a health step (the update
/// ratio compares the two), and under bounded staleness every step (stale shards' statistics are rebased onto the newest
/// state). Checkpoints and the failure path ask the parameter server for its state themselves.
/// </summary>
public static class StateNeed
{
    /// <param name="step">The step about to be applied (0-based).</param>
    /// <param name="healthEvery">Every how many steps gradient health is measured (0: never).</param>
    public static bool AfterStep(long step, long totalSteps, int stepsPerEpoch, int healthEvery, bool stale)
    {
        if (stepsPerEpoch <= 0) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "an epoch has at least one step");
        return stale || (step + 1) % stepsPerEpoch == 0 || step + 1 >= totalSteps || IsHealthStep(step, healthEvery) || IsHealthStep(step + 1, healthEvery);
    }

    private static bool IsHealthStep(long step, int healthEvery) => healthEvery > 0 && step % healthEvery == 0;
}
