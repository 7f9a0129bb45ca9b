using Akka.Configuration;
using Akka.Dispatch;

namespace Distributed.Simulation;

/// <summary>
/// A dispatcher that runs an actor's mailbox on the thread that sends to it (Akka.TestKit's calling-thread
/// dispatcher, without taking a test library into the product). Every consequence of a scheduled event therefore
/// happens before <see cref="VirtualScheduler.RunNext"/> returns, so the simulated clock only moves when nothing
/// else is left to do at the current instant.
/// </summary>
public sealed class InlineDispatcherConfigurator(Config config, IDispatcherPrerequisites prerequisites)
    : MessageDispatcherConfigurator(config, prerequisites)
{
    /// <summary>The dispatcher id every simulated actor is created with.</summary>
    public const string Id = "simulation-dispatcher";

    /// <summary>The configuration that declares the dispatcher.</summary>
    public static string Hocon => $"{Id} {{ type = \"{typeof(InlineDispatcherConfigurator).AssemblyQualifiedName}\" }}";

    public override MessageDispatcher Dispatcher() => new InlineDispatcher(this);

    private sealed class InlineDispatcher(MessageDispatcherConfigurator configurator) : MessageDispatcher(configurator)
    {
        protected override void ExecuteTask(IRunnable run) => run.Run();

        protected override void Shutdown() { }
    }
}
