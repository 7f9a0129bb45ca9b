using System.CommandLine;
using Distributed.Coordinator.Cli;
using Distributed.Coordinator.Experiments;
using Distributed.Model.Data;
using Distributed.Model.Runtime;

TorchRuntime.Initialize();
var root = new RootCommand("Distributed: data-parallel training of deep residual CNNs on an actor cluster.")
{
    TrainCommand.Create(),
    ExperimentCommands.Create(),
    StatusCommand.Create(),
};
try
{
    return await root.Parse(args).InvokeAsync();
}
catch (Exception error) when (error is DatasetFormatException or ArgumentException or IOException)
{
    // Bad input gets one clear line naming the file or value, not a stack trace.
    Console.Error.WriteLine($"error: {error.Message}");
    return 2;
}
