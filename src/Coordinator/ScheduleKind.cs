namespace Distributed.Coordinator;

public enum ScheduleKind { Linear, Cosine, Constant }
