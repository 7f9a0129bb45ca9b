using Distributed.Cluster;
using Distributed.Worker.Hosting;
using Microsoft.Extensions.Configuration;

namespace Distributed.Tests.Cluster;

/// <summary>The node roles of `distributed-worker --role` and the coordinator's `Cluster:ServerNodes`, with their errors.</summary>
public sealed class ServerNodeOptionTests
{
    [Theory]
    [InlineData(null, true, false, "worker")]
    [InlineData("worker", true, false, "worker")]
    [InlineData("server", false, true, "server")]
    [InlineData(" server , worker ", true, true, "worker,server")]
    public void A_node_is_a_worker_a_server_or_both(string? text, bool worker, bool server, string akka)
    {
        var roles = NodeRoles.Parse(text);
        Assert.Equal((worker, server), (roles.Worker, roles.Server));
        Assert.Equal(akka, roles.Akka);
    }

    [Theory]
    [InlineData("coordinator")]
    [InlineData("worker,servers")]
    [InlineData(",")]
    public void Any_other_role_is_refused_naming_the_value(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => NodeRoles.Parse(text));
        Assert.Contains($"'{text}' must be worker, server, or worker,server", error.Message);
    }

    [Theory]
    [InlineData("2", 2, null)]
    [InlineData("-1", 0, "Cluster:ServerNodes (-1) must be between 0 and 64")]
    [InlineData("65", 0, "Cluster:ServerNodes (65) must be between 0 and 64")]
    [InlineData("two", 0, "Cluster:ServerNodes 'two' is not a whole number")]
    public void Server_nodes_are_bound_from_configuration_and_a_bad_value_is_named(string value, int expected, string? problem)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Cluster:ServerNodes"] = value }).Build();
        if (problem is null)
        {
            Assert.Equal(expected, ClusterSettings.From(configuration, new ClusterSettings()).ServerNodes);
            return;
        }
        var error = Assert.Throws<ArgumentException>(() => ClusterSettings.From(configuration, new ClusterSettings()));
        Assert.Contains(problem, error.Message);
    }
}
