using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Distributed.Cluster.Hosting;

/// <summary>
/// The generic host's console lifetime takes SIGINT and SIGTERM for itself: it stopped the ActorSystem under a
/// run still waiting for its next step (which then hung) and would swallow the signals in the dashboard's web
/// host. The command that owns these hosts decides when they stop (it finishes the step in flight and writes a
/// checkpoint first), so they get no lifetime of their own.
/// </summary>
public sealed class CommandOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class CommandOwnedLifetimeExtensions
{
    public static IServiceCollection AddCommandOwnedLifetime(this IServiceCollection services) =>
        services.AddSingleton<IHostLifetime, CommandOwnedLifetime>();
}
