using System.Net;

namespace Distributed.Observability;

/// <summary>How a run is watched: gradient health, the dashboard and /metrics, the timeline and TensorBoard files.</summary>
/// <param name="DashboardPortChosen">The user named the port: if it is taken that is an error, whereas the default port falls back to a free one.</param>
public sealed record ObservabilitySettings(int HealthEvery, bool Dashboard, IPAddress DashboardAddress, int DashboardPort, bool Timeline, bool TensorBoard,
    bool DashboardPortChosen = false);
