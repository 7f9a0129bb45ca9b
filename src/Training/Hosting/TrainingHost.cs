using Akka.Actor;
using Akka.Hosting;
using Distributed.Protocol.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distributed.Training.Hosting;

/// <summary>The one-process mode: coordinator, parameter server and workers in one ActorSystem built with Akka.Hosting.</summary>
public static class TrainingHost
{
    public static IHost BuildLocal(string akkaLogLevel = "WARNING")
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddCommandOwnedLifetime();
        builder.Services.AddAkka("distributed", akka => akka
            // The command stops the run on SIGTERM (step, checkpoint, exit); Akka's CLR exit hook would terminate the
            // ActorSystem first and leave the run waiting on actors that are gone.
            .AddHocon($"akka.loglevel = {akkaLogLevel}\nakka.stdout-loglevel = {akkaLogLevel}\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off",
                HoconAddMode.Prepend)
            .AddProtocolSerialization());
        return builder.Build();
    }

    public static ActorSystem ActorSystemOf(IHost host) => host.Services.GetRequiredService<ActorSystem>();
}
