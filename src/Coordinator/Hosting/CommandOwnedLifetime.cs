using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Distributed.Coordinator.Hosting;

/// <summary>
/// The generic host's console lifetime takes SIGINT and SIGTERM for itself and stops the ActorSystem under a
/// run that is still waiting for its next step, which then hangs. The command that owns the host decides
/// when it stops (it finishes the step in flight and writes a checkpoint first), so the host gets no lifetime
/// of its own.
/// </summary>
internal sealed class CommandOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static class CommandOwnedLifetimeExtensions
{
    public static HostApplicationBuilder UseCommandOwnedLifetime(this HostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IHostLifetime, CommandOwnedLifetime>();
        return builder;
    }
}
