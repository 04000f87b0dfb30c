using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Models;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Distributed;

/// <summary>
/// Data-parallel training as PyTorch's DDP does it, over MPI: at the start every rank takes rank 0's parameters and
/// buffers; after each backward the gradients are averaged across ranks, flattened into buckets of at least
/// <see cref="BucketBytes"/> (one Allreduce per bucket, not one per tensor); BatchNorm normalises with each rank's own
/// batch, and before validation the ranks take rank 0's running statistics. With <c>sync-every</c> K &gt; 1 (local SGD)
/// each rank steps on its own gradients and the weights are averaged every K steps and before validation.
/// </summary>
public sealed class DataParallelHook(MpiCommunicator world, ParallelSection settings) : ITrainingHook
{
    private readonly CompressedAverage? _compressed = GradientCodec.For(settings.GradCompression) is { } codec ? new CompressedAverage(world, codec) : null;

    /// <summary>Gradients are sent in buckets of at least this many bytes (a tensor larger than one is a bucket of its own).</summary>
    public const int BucketBytes = 4 << 20;

    private readonly Stopwatch _communication = new();
    private long _steps, _stepsThisEpoch, _bytesThisEpoch, _bucketsThisEpoch;

    public MpiCommunicator World { get; } = world;
    /// <summary>Seconds this rank spent in collective calls (including waiting for slower ranks, and compressing).</summary>
    public TimeSpan CommunicationTime => _communication.Elapsed;
    /// <summary>Bytes this rank sent averaging gradients or weights since the start (ring all-reduce: 2(R-1)/R of the payload).</summary>
    public long BytesSent { get; private set; }

    public void OnTrainStart(TrainingRun run)
    {
        if (settings.SyncBatchNorm) SynchronizedBatchStatistics.Attach(run.Parts.Model, World);
        BroadcastFromRoot(run.Parts.Model);
        run.Recorder.Say($"MPI: {World.Size} ranks on {World.Hosts} host(s); rank 0's weights broadcast; gradients averaged " +
            (settings.SyncEvery > 1 ? $"never: local SGD, weights averaged every {settings.SyncEvery} steps" : $"every step in buckets of {BucketBytes >> 20} MiB") +
            (_compressed is not null && settings.SyncEvery == 1 ? $", sent as {ChoiceNames.Name(settings.GradCompression)} with error feedback" : "") +
            (settings.SyncBatchNorm ? "; BatchNorm statistics over the global batch" : "; BatchNorm statistics per rank") +
            FormattableString.Invariant($"; a collective waits at most {World.CollectiveTimeout.TotalSeconds:0} s"));
    }

    public void AfterBackward(SegmentationModel model)
    {
        _steps++;
        _stepsThisEpoch++;
        if (World.Size == 1) return;
        if (settings.SyncEvery == 1) AverageGradients(model);
        else if (_steps % settings.SyncEvery == 0)
        {
            using var noGrad = torch.no_grad();
            Reduce([.. model.parameters()], ReduceKind.Average, count: true);
        }
    }

    public void BeforeValidation(SegmentationModel model)
    {
        if (World.Size == 1) return;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        if (settings.SyncEvery > 1) Reduce([.. model.parameters()], ReduceKind.Average, count: true);
        Reduce(FloatBuffers(model), ReduceKind.BroadcastFromRoot, count: false);
    }

    public void OnEpochEnd(TrainingRun run, EpochMetrics metrics)
    {
        if (World.Size > 1 && _stepsThisEpoch > 0)
            run.Recorder.Say(FormattableString.Invariant(
                $"MPI: {_communication.Elapsed.TotalSeconds:0.00} s in collectives so far on rank 0; this epoch {_bucketsThisEpoch} Allreduce calls, {_bytesThisEpoch / (double)_stepsThisEpoch / 1e6:0.000} MB sent per step by each rank"));
        _stepsThisEpoch = _bytesThisEpoch = _bucketsThisEpoch = 0;
    }

    /// <summary>Every rank takes rank 0's parameters and float buffers (BatchNorm's running statistics).</summary>
    public void BroadcastFromRoot(nn.Module model)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Reduce([.. model.parameters(), .. FloatBuffers(model)], ReduceKind.BroadcastFromRoot, count: false);
    }

    /// <summary>Each gradient replaced by its mean over the ranks (bucketed; compressed when asked).</summary>
    public void AverageGradients(nn.Module model)
    {
        var grads = model.parameters().Where(p => p.requires_grad && p.grad is not null).Select(p => p.grad!).ToList();
        Reduce(grads, ReduceKind.Average, count: true);
    }

    private enum ReduceKind { Average, BroadcastFromRoot }

    /// <summary>The tensors, bucket by bucket: flattened into one float array, one collective call, copied back.</summary>
    private void Reduce(IReadOnlyList<Tensor> tensors, ReduceKind kind, bool count)
    {
        int start = 0, bucket = 0;
        long elements = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            elements += tensors[i].numel();
            if (elements * sizeof(float) >= BucketBytes || i == tensors.Count - 1)
            {
                ReduceBucket(tensors.Skip(start).Take(i + 1 - start).ToList(), bucket++, kind, count);
                start = i + 1;
                elements = 0;
            }
        }
    }

    /// <summary>
    /// One bucket: flattened into one float array, one collective exchange, copied back. Gradients go compressed when asked
    /// (weights averaged by local SGD always go as fp32). Bytes counted are those each rank sends: 2(R-1)/R of the payload,
    /// as a ring all-reduce sends it.
    /// </summary>
    private void ReduceBucket(List<Tensor> bucket, int index, ReduceKind kind, bool count)
    {
        using var scope = torch.NewDisposeScope();
        var flat = torch.cat(bucket.Select(t => t.detach().reshape(-1).to_type(ScalarType.Float32)).ToList());
        var values = flat.cpu().data<float>().ToArray();
        bool compressed = kind == ReduceKind.Average && _compressed is not null && settings.SyncEvery == 1;
        _communication.Start();
        if (compressed) _compressed!.Average(index, values);
        else if (kind == ReduceKind.Average) World.AllreduceSum(values, values.Length);
        else World.Broadcast(values, values.Length);
        _communication.Stop();
        if (count)
        {
            _bucketsThisEpoch++;
            long sent = compressed ? _compressed!.LastBytesSent : 2L * (World.Size - 1) * values.Length * sizeof(float) / World.Size;
            _bytesThisEpoch += sent;
            BytesSent += sent;
        }
        var result = torch.tensor(values);
        if (kind == ReduceKind.Average && !compressed) result.div_(World.Size);
        long offset = 0;
        foreach (var tensor in bucket)
        {
            long n = tensor.numel();
            tensor.detach().copy_(result.narrow(0, offset, n).view(tensor.shape).to(tensor.device).to_type(tensor.dtype));
            offset += n;
        }
    }

    private static List<Tensor> FloatBuffers(nn.Module model) =>
        [.. model.buffers().Where(b => b.dtype == ScalarType.Float32)];
}
