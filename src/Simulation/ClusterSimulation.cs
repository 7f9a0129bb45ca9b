using Akka.Actor;
using Akka.Configuration;

namespace Distributed.Simulation;

/// <summary>
/// Runs one simulated cluster in an actor system of its own, whose scheduler is the <see cref="VirtualScheduler"/>.
/// The simulation itself is <see cref="SimulationRoot"/>: the real coordinator and parameter server and the
/// simulated workers are its children, so all of them run inline on the one thread that drives the clock.
/// </summary>
public static class ClusterSimulation
{
    public static SimulationResult Run(SimulationOptions options)
    {
        if (options.Validate() is { } problem) throw new ArgumentException(problem);
        var config = ConfigurationFactory.ParseString(string.Join('\n',
            VirtualScheduler.Hocon,
            InlineDispatcherConfigurator.Hocon,
            "akka.loglevel = WARNING",
            "akka.stdout-loglevel = WARNING",
            "akka.log-dead-letters = off",
            "akka.coordinated-shutdown.run-by-actor-system-terminate = off"));
        var system = ActorSystem.Create("simulation", config);
        try
        {
            var done = new TaskCompletionSource<SimulationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(SimulationRoot.Props(options, (VirtualScheduler)system.Scheduler, done), "simulation").Tell(SimulationRoot.Start.Instance);
            try
            {
                return done.Task.GetAwaiter().GetResult();
            }
            catch (Exception error) when (error is not (InvalidOperationException or ArgumentException))
            {
                throw new InvalidOperationException($"the simulation failed: {error.Message}", error);
            }
        }
        finally
        {
            // Nothing runs on the simulated clock any more, so shutdown must not wait for it.
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
    }
}
