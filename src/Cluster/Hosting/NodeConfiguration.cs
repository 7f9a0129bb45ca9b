using Microsoft.Extensions.Configuration;

namespace Distributed.Cluster.Hosting;

/// <summary>
/// Where a node's settings come from, later sources winning: appsettings.{role}.json next to the executable
/// (one name per role, since the coordinator's output also holds the worker's files), an appsettings.json in the
/// working directory, DISTRIBUTED_* environment variables (DISTRIBUTED_CLUSTER__HOSTNAME
/// sets Cluster:Hostname; containers use these), then command-line options.
/// </summary>
public static class NodeConfiguration
{
    public const string EnvironmentPrefix = "DISTRIBUTED_";

    public static IConfiguration Load(string role, IReadOnlyDictionary<string, string?>? commandLine = null)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, $"appsettings.{role}.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables(EnvironmentPrefix);
        if (commandLine is not null) builder.AddInMemoryCollection(commandLine.Where(p => p.Value is not null));
        return builder.Build();
    }
}
