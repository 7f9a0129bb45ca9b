using Distributed.Model.Runtime;
using Distributed.Worker.Hosting;

TorchRuntime.Initialize();
return await WorkerCommand.Create().Parse(args).InvokeAsync();
