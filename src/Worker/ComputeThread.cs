using System.Collections.Concurrent;
using Distributed.Model.Runtime;

namespace Distributed.Worker;

/// <summary>
/// One dedicated OS thread per worker for all of its tensor work. libtorch's OpenMP thread count is a
/// per-thread setting, and the thread-pool hands work to arbitrary threads, so a worker that must use exactly
/// N cores owns the thread it computes on (bench/README.md, platform fact 2).
/// </summary>
public sealed class ComputeThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    public ComputeThread(string name, int torchThreads)
    {
        _thread = new Thread(() => Loop(torchThreads)) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public Task<T> Run<T>(Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { completion.SetResult(work()); }
            catch (Exception error) { completion.SetException(error); }
        });
        return completion.Task;
    }

    private void Loop(int torchThreads)
    {
        TorchRuntime.UseThreadsOnThisThread(torchThreads);
        foreach (var action in _work.GetConsumingEnumerable()) action();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
    }
}
