using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distributed.Coordinator;
using Distributed.Model.Data;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Training.Checkpoints;

/// <summary>
/// Everything that determines how a run continues from a checkpoint: the model, the data, and every setting that
/// shapes the result (seed, batch, epochs, step limit, schedule, optimizer), plus where the run stood.
/// </summary>
public sealed record CheckpointHeader(
    int FormatVersion,
    ModelSpec Model,
    DataSpec Data,
    int Seed,
    int GlobalBatch,
    int Epochs,
    long Step,
    long WeightsVersion,
    int StateLength,
    int ParameterCount,
    DateTimeOffset WrittenAt,
    long MaxSteps = 0,
    double PeakLearningRate = 0,
    ScheduleKind Schedule = ScheduleKind.Linear,
    double WarmupEpochs = 0,
    double Momentum = 0,
    bool Nesterov = false,
    double WeightDecay = 0,
    int Epoch = 0,
    int StepsPerEpoch = 0,
    int Workers = 0,
    DatasetFingerprint? DataFingerprint = null,
    double LabelSmoothing = 0)
{
    /// <summary>
    /// Every way <paramref name="job"/> differs from the run that wrote this checkpoint, as "setting: checkpoint
    /// value vs this run's value"; empty when the job may resume from it. The dataset's location and the worker
    /// count may change (the same data elsewhere; an elastic cluster); nothing that changes the result may.
    /// </summary>
    public IReadOnlyList<string> DifferencesFrom(TrainingJob job)
    {
        var differences = new List<string>();
        void Check<T>(string setting, T saved, T wanted)
        {
            if (!EqualityComparer<T>.Default.Equals(saved, wanted)) differences.Add($"{setting}: checkpoint {saved}, this run {wanted}");
        }
        Check("model", Model.Name, job.Model.Name);
        Check("model spec", Model, job.Model);
        Check("dataset", Data.Name, job.Data.Name);
        Check("augmentation (crop padding)", Data.CropPadding, job.Data.CropPadding);
        Check("augmentation (flip)", Data.HorizontalFlip, job.Data.HorizontalFlip);
        Check("--train-limit", Data.TrainLimit, job.Data.TrainLimit);
        Check("--test-limit", Data.TestLimit, job.Data.TestLimit);
        Check("--seed", Seed, job.Plan.Seed);
        Check("--batch-size", GlobalBatch, job.Plan.GlobalBatch);
        Check("--epochs", Epochs, job.Plan.Epochs);
        Check("--max-steps", MaxSteps, job.Plan.MaxSteps);
        Check("peak learning rate", PeakLearningRate, job.Plan.Schedule.PeakLearningRate);
        Check("--schedule", Schedule, job.Plan.Schedule.Kind);
        Check("--warmup-epochs", WarmupEpochs, job.Plan.Schedule.WarmupEpochs);
        Check("--momentum", Momentum, job.Sgd.Momentum);
        Check("nesterov", Nesterov, job.Sgd.Nesterov);
        Check("--weight-decay", WeightDecay, job.Sgd.WeightDecay);
        Check("--label-smoothing", LabelSmoothing, job.LabelSmoothing);
        return differences;
    }

    /// <summary>
    /// <see cref="DifferencesFrom(TrainingJob)"/> plus what only the data and the model can tell: the state length of
    /// this run's model, the dataset (counts and fingerprint) and so the steps per epoch. A fact this run does not know
    /// (null: a cluster coordinator does not open the data) or the checkpoint did not record is not compared.
    /// </summary>
    public IReadOnlyList<string> DifferencesFrom(TrainingJob job, int stateLength, DatasetFingerprint? data)
    {
        var differences = DifferencesFrom(job).ToList();
        if (StateLength != stateLength) differences.Add($"state length: checkpoint {StateLength} floats, this run's model {stateLength}");
        if (DataFingerprint is { } saved && data is { } current)
        {
            if (saved.TrainCount != current.TrainCount || saved.TestCount != current.TestCount)
                differences.Add($"dataset size: checkpoint {saved.TrainCount} train / {saved.TestCount} test samples, this run {current.TrainCount} / {current.TestCount}");
            else if (saved.Hash != current.Hash)
                differences.Add($"dataset fingerprint: checkpoint {saved.Hash}, this run {current.Hash} (same sizes, different samples: other files or order)");
            var steps = TrainingPlan.StepsPerEpoch(current.TrainCount, job.Plan.GlobalBatch);
            if (StepsPerEpoch > 0 && StepsPerEpoch != steps) differences.Add($"steps per epoch: checkpoint {StepsPerEpoch}, this run {steps}");
        }
        return differences;
    }
}

/// <summary>
/// Checkpoint file: magic, header length, JSON header, weights (state), momentum, then a SHA-256 of everything
/// before it. Written to a temporary file, flushed and renamed, so a crash never leaves a half-written
/// checkpoint under the real name. The sample order and augmentation are pure functions of (seed, epoch,
/// index), so the step number is the whole RNG state.
/// Format 2 added the schedule and optimizer settings to the header, so a resume can refuse a different config.
/// </summary>
public sealed record Checkpoint(CheckpointHeader Header, float[] State, float[] Momentum)
{
    public const string FileName = "checkpoint.bin";
    private const int CurrentFormat = 2;
    private static readonly byte[] Magic = "DSTCKPT1"u8.ToArray();
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, Converters = { new JsonStringEnumConverter() } };

    public static Checkpoint From(TrainingJob job, CurrentParameters parameters, int parameterCount, int stepsPerEpoch = 0,
        DatasetFingerprint? data = null) => new(
        new CheckpointHeader(CurrentFormat, job.Model, job.Data, job.Plan.Seed, job.Plan.GlobalBatch, job.Plan.Epochs,
            parameters.StepsApplied, parameters.WeightsVersion, parameters.State.Length, parameterCount, DateTimeOffset.UtcNow,
            job.Plan.MaxSteps, job.Plan.Schedule.PeakLearningRate, job.Plan.Schedule.Kind, job.Plan.Schedule.WarmupEpochs,
            job.Sgd.Momentum, job.Sgd.Nesterov, job.Sgd.WeightDecay,
            stepsPerEpoch > 0 ? (int)(parameters.StepsApplied / stepsPerEpoch) : 0, stepsPerEpoch, job.Workers, data, job.LabelSmoothing),
        parameters.State, parameters.Momentum);

    /// <summary>
    /// Writes checkpoint.bin and checkpoint-{step}.bin (one file, hard-linked where the file system allows), each
    /// put in place by an atomic rename, the directory synced after the renames, and only the newest
    /// <paramref name="keep"/> step files kept (<see cref="CheckpointRetention"/>).
    /// </summary>
    public void Write(string directory, int keep = CheckpointRetention.DefaultKeep)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var temporary = WriteTemporary(path);
        var stepPath = Path.Combine(directory, CheckpointRetention.StepFileName(Header.Step));
        var stepTemporary = stepPath + $".tmp-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}";
        File.Delete(stepTemporary);
        if (!DirectorySync.TryHardLink(temporary, stepTemporary)) File.Copy(temporary, stepTemporary, overwrite: true);
        File.Move(stepTemporary, stepPath, overwrite: true);
        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(directory);
        foreach (var old in CheckpointRetention.ToDelete(Directory.EnumerateFiles(directory).Select(Path.GetFileName).OfType<string>(), keep))
            File.Delete(Path.Combine(directory, old));
    }

    private string WriteTemporary(string path)
    {
        var temporary = path + $".tmp-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}";
        var header = JsonSerializer.SerializeToUtf8Bytes(Header, Json);
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            void Put(ReadOnlySpan<byte> bytes)
            {
                file.Write(bytes);
                hash.AppendData(bytes);
            }
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, header.Length);
            Put(Magic);
            Put(length);
            Put(header);
            Put(MemoryMarshal.AsBytes(State.AsSpan()));
            Put(MemoryMarshal.AsBytes(Momentum.AsSpan()));
            file.Write(hash.GetHashAndReset());
            file.Flush(flushToDisk: true);
        }
        return temporary;
    }

    /// <summary>Reads and verifies a checkpoint; every problem is reported with the file path.</summary>
    public static Checkpoint Read(string pathOrDirectory)
    {
        var path = Directory.Exists(pathOrDirectory) ? Path.Combine(pathOrDirectory, FileName) : pathOrDirectory;
        if (!File.Exists(path)) throw new CheckpointException(path, "no checkpoint file there");
        var bytes = File.ReadAllBytes(path);
        const int digest = 32;
        if (bytes.Length < Magic.Length + 4 + digest || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new CheckpointException(path, "not a Distributed checkpoint (wrong magic bytes or too short)");
        var body = bytes.AsSpan(0, bytes.Length - digest);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - digest)))
            throw new CheckpointException(path, "checksum mismatch: the file is corrupt or truncated");
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(body[Magic.Length..]);
        var headerStart = Magic.Length + 4;
        if (headerLength <= 0 || headerStart + headerLength > body.Length)
            throw new CheckpointException(path, $"header length {headerLength} does not fit in the file");
        CheckpointHeader header;
        try
        {
            header = JsonSerializer.Deserialize<CheckpointHeader>(body.Slice(headerStart, headerLength), Json)
                ?? throw new CheckpointException(path, "empty header");
        }
        catch (JsonException error)
        {
            throw new CheckpointException(path, $"unreadable header: {error.Message}");
        }
        if (header.FormatVersion != CurrentFormat)
            throw new CheckpointException(path, $"format version {header.FormatVersion}, this build reads {CurrentFormat}");
        if (header.StateLength <= 0 || header.ParameterCount <= 0 || header.ParameterCount > header.StateLength)
            throw new CheckpointException(path, $"header sizes are inconsistent (state {header.StateLength}, parameters {header.ParameterCount})");
        var arrays = body[(headerStart + headerLength)..];
        var expected = (long)(header.StateLength + header.ParameterCount) * sizeof(float);
        if (arrays.Length != expected)
            throw new CheckpointException(path, $"holds {arrays.Length} bytes of tensors, the header says {expected}");
        var state = MemoryMarshal.Cast<byte, float>(arrays[..(header.StateLength * sizeof(float))]).ToArray();
        var momentum = MemoryMarshal.Cast<byte, float>(arrays[(header.StateLength * sizeof(float))..]).ToArray();
        return new Checkpoint(header, state, momentum);
    }
}

public sealed class CheckpointException(string path, string problem)
    : Exception($"{path}: {problem}")
{
    public string FilePath { get; } = path;
}
