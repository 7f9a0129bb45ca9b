using System.CommandLine;
using Distributed.Cli.Commands;
using Distributed.Observability;
using Distributed.Experiments;
using Distributed.Model.Data;
using Distributed.Model.Runtime;

TorchRuntime.Initialize();
var root = new RootCommand("Distributed: data-parallel training of deep residual CNNs on an actor cluster.")
{
    TrainCommand.Create(),
    ExperimentCommands.Create(),
    StatusCommand.Create(),
    SimulateCommand.Create(),
};
try
{
    // `train` handles SIGINT/SIGTERM itself (finish the step, checkpoint, exit); System.CommandLine's own handler
    // would end the process after 2 s, in the middle of writing that checkpoint.
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
}
catch (Exception error) when (error is DatasetFormatException or ArgumentException or IOException)
{
    // Bad input gets one clear line naming the file or value, not a stack trace.
    Console.Error.WriteLine($"error: {error.Message}");
    return 2;
}
