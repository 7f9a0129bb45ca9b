using Akka.Actor;
using MemberStatus = Akka.Cluster.MemberStatus;
using Akka.Hosting;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.Training.Hosting;
using Distributed.Protocol.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Mutual TLS on Akka.Remote, built exactly as the executables build it: a node with a certificate from the
/// cluster's authority joins; a node with a certificate from another authority, or with no TLS at all, does not.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterTlsTests : IDisposable
{
    private static readonly TimeSpan JoinWithin = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RefusedFor = TimeSpan.FromSeconds(12);
    private readonly TestCertificates _cluster = new("cluster");
    private readonly TestCertificates _foreign = new("foreign");
    private readonly List<IHost> _hosts = new();

    [Fact]
    public async Task A_node_with_the_cluster_certificate_joins_and_one_without_it_cannot()
    {
        var port = NodeProcess.FreePort();
        var coordinatorSettings = new ClusterSettings { Port = port, Tls = Tls(_cluster.IssueNode("coordinator"), _cluster) };
        var coordinator = await StartAsync(TrainingHost.Build(coordinatorSettings, ClusterTls.Load(coordinatorSettings.Tls)));
        var coordinatorCluster = Akka.Cluster.Cluster.Get(coordinator);
        var seeds = new[] { $"127.0.0.1:{port}" };

        // Positive control: the same set-up with a certificate from the cluster's authority joins.
        var member = await StartWorkerAsync(seeds, Tls(_cluster.IssueNode("member"), _cluster));
        await WaitUntilAsync(() => IsUp(coordinatorCluster, member), JoinWithin, "the node with the cluster certificate to join");

        // A certificate from another authority: the handshake is refused both ways and the node never joins.
        var intruder = await StartWorkerAsync(seeds, Tls(_foreign.IssueNode("intruder"), _foreign));
        // No TLS at all against a TLS cluster.
        var plain = await StartWorkerAsync(seeds, new TlsSettings());
        await Task.Delay(RefusedFor);
        Assert.False(IsUp(coordinatorCluster, intruder), "a node with a foreign certificate joined the cluster");
        Assert.False(IsUp(coordinatorCluster, plain), "a node without TLS joined the TLS cluster");
        Assert.Equal(2, coordinatorCluster.State.Members.Count(m => m.Status == MemberStatus.Up));
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(intruder).State.Members, m => m.Status == MemberStatus.Up);
    }

    [Fact]
    public void A_certificate_not_signed_by_the_configured_authority_is_refused_at_start_up()
    {
        var settings = Tls(_foreign.IssueNode("confused"), _cluster);
        var error = Assert.Throws<ArgumentException>(() => ClusterTls.Load(settings));
        Assert.Contains("not signed by Cluster:Tls:AuthorityPath", error.Message);
    }

    [Fact]
    public void A_wrong_certificate_password_names_the_file()
    {
        var path = _cluster.IssueNode("node");
        var error = Assert.Throws<ArgumentException>(() => ClusterTls.Load(new TlsSettings { Enabled = true, CertificatePath = path, CertificatePassword = "wrong" }));
        Assert.Contains(path, error.Message);
    }

    private static TlsSettings Tls(string pfx, TestCertificates authority) => new()
    {
        Enabled = true,
        CertificatePath = pfx,
        CertificatePassword = TestCertificates.Password,
        AuthorityPath = authority.AuthorityPath,
    };

    private static bool IsUp(Akka.Cluster.Cluster cluster, ActorSystem node)
    {
        var address = Akka.Cluster.Cluster.Get(node).SelfAddress;
        return cluster.State.Members.Any(m => m.Address.Equals(address) && m.Status == MemberStatus.Up);
    }

    private async Task<ActorSystem> StartWorkerAsync(string[] seeds, TlsSettings tls)
    {
        var settings = new ClusterSettings { SeedNodes = seeds, Tls = tls };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddAkka(ClusterSettings.SystemName, akka => akka
            .AddHocon("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR", HoconAddMode.Prepend)
            .AddProtocolSerialization()
            .WithDistributedCluster(settings, ClusterRoles.Worker, ClusterTls.Load(tls)));
        return await StartAsync(builder.Build());
    }

    private async Task<ActorSystem> StartAsync(IHost host)
    {
        _hosts.Add(host);
        await host.StartAsync();
        return host.Services.GetRequiredService<ActorSystem>();
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
            await Task.Delay(200);
        }
    }

    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            host.Dispose();
        }
        _cluster.Dispose();
        _foreign.Dispose();
    }
}
