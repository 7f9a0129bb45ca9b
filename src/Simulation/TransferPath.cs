namespace Distributed.Simulation;

/// <summary>Which way weights and gradients travel between the workers and the parameter servers.</summary>
public enum TransferPath
{
    /// <summary>Today's path: every gradient goes worker → coordinator and every weights version back; one server, on the coordinator's node.</summary>
    Coordinator,

    /// <summary>Issue 13's path: each worker pushes each server its slice of the gradient and pulls that slice of the weights from it; servers on their own nodes.</summary>
    Direct,
}
