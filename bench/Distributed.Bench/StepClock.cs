using System.Diagnostics;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Bench;

/// <summary>Wall time between consecutive completed steps: everything a step costs, communication included.</summary>
public sealed class StepClock : ITrainingObserver
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _last = double.NaN;

    public List<double> Intervals { get; } = [];

    public void OnStep(StepCompleted step)
    {
        var now = _clock.Elapsed.TotalSeconds;
        if (!double.IsNaN(_last)) Intervals.Add(now - _last);
        _last = now;
    }
}
