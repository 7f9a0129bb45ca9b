using System.Diagnostics;
using Distributed.Cluster;
using Microsoft.Extensions.Configuration;

namespace Distributed.Tests.Cluster;

/// <summary>Nobody gets in without TLS: a node refuses a non-loopback address in clear text unless the operator says so, and then warns.</summary>
public sealed class InsecureBindingTests
{
    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("10.77.0.11")]
    [InlineData("node-3.example")]
    public void A_non_loopback_address_without_TLS_is_refused_with_what_to_do(string hostname)
    {
        var error = Assert.Throws<ArgumentException>(() => Settings(("Cluster:Hostname", hostname)));
        Assert.Contains($"Cluster:Hostname '{hostname}' is not a loopback address and TLS is off", error.Message);
        Assert.Contains("--insecure", error.Message);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    [InlineData("::1")]
    public void Loopback_needs_neither_TLS_nor_the_flag_and_is_not_warned_about(string hostname)
    {
        var settings = Settings(("Cluster:Hostname", hostname));
        Assert.Null(InsecureBinding.Warning(settings));
    }

    [Fact]
    public void The_explicit_flag_lets_a_clear_text_node_start_with_a_warning()
    {
        var settings = Settings(("Cluster:Hostname", "0.0.0.0"), ("Cluster:AllowInsecure", "true"));
        Assert.Contains("INSECURE: listening on 0.0.0.0 without TLS", InsecureBinding.Warning(settings));
    }

    [Fact]
    public void With_TLS_a_non_loopback_address_is_fine()
    {
        var settings = new ClusterSettings { Hostname = "0.0.0.0", Tls = new TlsSettings { Enabled = true, CertificatePath = "node.pfx" } };
        InsecureBinding.EnsureAllowed(settings);
        Assert.Null(InsecureBinding.Warning(settings));
    }

    [Fact]
    public void A_flag_that_is_not_a_boolean_is_named()
    {
        var error = Assert.Throws<ArgumentException>(() => Settings(("Cluster:AllowInsecure", "maybe")));
        Assert.Contains("Cluster:AllowInsecure 'maybe' is not true or false", error.Message);
    }

    [Theory]
    [InlineData("worker")]
    [InlineData("coordinator")]
    public async Task Both_executables_refuse_a_clear_text_non_loopback_address_before_they_start(string node)
    {
        var (dll, arguments) = node == "worker"
            ? (BuildOutput.Worker, new[] { "--hostname", "0.0.0.0", "--port", "0" })
            : (BuildOutput.Coordinator, new[] { "train", "--cluster", "--hostname", "0.0.0.0", "--port", "0",
                "--output", Path.Combine(Path.GetTempPath(), "never-written") });
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("DISTRIBUTED_", StringComparison.Ordinal)).ToList()) start.Environment.Remove(key);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"{node} started instead of refusing: {await stdout}");
        }
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("is not a loopback address and TLS is off", await stderr);
    }

    private static ClusterSettings Settings(params (string Key, string Value)[] values) =>
        ClusterSettings.From(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build(), new ClusterSettings());
}
