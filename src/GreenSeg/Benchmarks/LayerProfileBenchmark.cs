using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Evaluation;
using GreenSeg.Models;
using GreenSeg.Models.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Benchmarks;

/// <summary>The kinds of work a training step is split into by <see cref="LayerProfileBenchmark"/>.</summary>
public enum LayerKind
{
    Conv3x3,
    Conv1x1,
    /// <summary>Any other kernel (e.g. 5x5, 7x7, asymmetric), depthwise included.</summary>
    ConvOther,
    TransposedConv,
    /// <summary>Every layer inside an attention gate (its 1x1 convolutions, BatchNorm, activations).</summary>
    AttentionGate,
    BatchNorm,
    Activation,
    Pooling,
    /// <summary>Upsampling layers and other leaf modules not listed above.</summary>
    OtherLayer,
    /// <summary>Forward work between layers: concatenations, additions, resampling and casts done outside modules.</summary>
    BetweenLayers,
    Loss,
    OptimizerStep,
}

public sealed record LayerProfileOptions
{
    public string Model { get; init; } = "att-squeeze-unet";
    public int? Width { get; init; }
    /// <summary>A U-Net's full-resolution stage width (<see cref="ModelOptions.FirstStageWidth"/>); null: the base width.</summary>
    public int? FirstStageWidth { get; init; }
    public int Size { get; init; } = 128;
    public int Batch { get; init; } = 8;
    public int Steps { get; init; } = 5;
    public int WarmupSteps { get; init; } = 2;
    public ComputeSettings Compute { get; init; } = ComputeSettings.Fast;
    public int Seed { get; init; }
}

/// <summary>Median milliseconds per step of one kind of work, forward and backward, over how many layers.</summary>
public sealed record LayerKindTiming(LayerKind Kind, int Layers, double ForwardMilliseconds, double BackwardMilliseconds)
{
    public double TotalMilliseconds => ForwardMilliseconds + BackwardMilliseconds;
}

public sealed record LayerProfileResult(string Model, long Parameters, LayerProfileOptions Options, double StepMilliseconds, IReadOnlyList<LayerKindTiming> Kinds);

/// <summary>
/// Where a training step goes, per kind of layer. Forward: each leaf layer is timed from its pre-hook to its forward hook;
/// the gaps between consecutive layers are the functional work between them (concatenation, addition, resampling).
/// Backward: the forward hook passes each layer's output through an identity whose backward (a TorchSharp custom autograd
/// function) notes when that output's gradient arrives; the time until the next such arrival is the layer's backward
/// (with any functional op just before it in the forward). Convolution rows include their precision casts and layout views.
/// Timing synchronises nothing: on the CPU every op has finished when it returns.
/// </summary>
public static class LayerProfileBenchmark
{
    public static LayerProfileResult Run(LayerProfileOptions options, CancellationToken cancellationToken = default)
    {
        if (options.Batch < 1 || options.Steps < 1 || options.WarmupSteps < 0 || options.Size < 1)
            throw new GreenSegException("bench profile: batch, steps and size must be positive, warm-up steps >= 0");
        using var model = ModelRegistry.Create(options.Model, new ModelOptions { BaseFeatures = options.Width, FirstStageWidth = options.FirstStageWidth, Seed = options.Seed });
        model.CheckInputShape([options.Batch, model.InChannels, options.Size, options.Size]);
        model.train();
        ComputeMode.Apply(model, options.Compute);
        using var optimizer = torch.optim.Adam(model.parameters(), 1e-3);
        using var data = NewDisposeScope();
        using var generator = new torch.Generator(unchecked((ulong)options.Seed), CPU);
        var input = options.Compute.PrepareInput(randn([options.Batch, model.InChannels, options.Size, options.Size], generator: generator));
        var target = (rand([options.Batch, model.OutChannels, options.Size, options.Size], generator: generator) > 0.5).to(ScalarType.Float32);

        var recorder = new StepRecorder(Kinds(model));
        var removers = recorder.Attach(model);
        var steps = new List<(double Total, Dictionary<LayerKind, (double Forward, double Backward)> Kinds)>();
        try
        {
            for (int step = 0; step < options.WarmupSteps + options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var timed = recorder.Step(model, optimizer, input, target);
                if (step >= options.WarmupSteps) steps.Add(timed);
            }
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        var layers = recorder.LayerCounts;
        var kinds = Enum.GetValues<LayerKind>().Select(kind => new LayerKindTiming(kind, layers.GetValueOrDefault(kind),
            Statistics.Median(steps.Select(s => s.Kinds.GetValueOrDefault(kind).Forward)), Statistics.Median(steps.Select(s => s.Kinds.GetValueOrDefault(kind).Backward))))
            .Where(k => k.TotalMilliseconds > 0 || k.Layers > 0).ToList();
        return new LayerProfileResult(model.ModelName, model.ParameterCount(), options, Statistics.Median(steps.Select(s => s.Total)), kinds);
    }

    /// <summary>Each leaf layer's kind: anything inside an attention gate counts as the gate.</summary>
    private static Dictionary<nn.Module, LayerKind> Kinds(SegmentationModel model)
    {
        var gates = model.named_modules().Where(m => m.module is AttentionGate).Select(m => m.name + ".").ToList();
        var kinds = new Dictionary<nn.Module, LayerKind>(ReferenceEqualityComparer.Instance);
        foreach (var (name, module) in model.named_modules())
        {
            if (module.children().Any() || module is not nn.Module<Tensor, Tensor>) continue;
            kinds[module] = gates.Any(g => name.StartsWith(g, StringComparison.Ordinal)) ? LayerKind.AttentionGate : KindOf(module);
        }
        return kinds;
    }

    private static LayerKind KindOf(nn.Module module) => module switch
    {
        ComputeConvTranspose2d => LayerKind.TransposedConv,
        ComputeConvolution { KernelSize: [3, 3], Groups: 1 } => LayerKind.Conv3x3,
        ComputeConvolution { KernelSize: [1, 1] } => LayerKind.Conv1x1,
        ComputeConvolution => LayerKind.ConvOther,
        BatchNorm => LayerKind.BatchNorm,
        ReLU or LeakyReLU or PReLU or ReLU6 or Hardswish or Hardsigmoid or Sigmoid or GELU or SiLU or ELU or Tanh => LayerKind.Activation,
        MaxPool2d or AvgPool2d or AdaptiveAvgPool2d => LayerKind.Pooling,
        _ => LayerKind.OtherLayer,
    };

    /// <summary>The hooks' notes of one step: forward intervals per layer, gaps between layers, gradient arrivals.</summary>
    private sealed class StepRecorder(Dictionary<nn.Module, LayerKind> kinds)
    {
        private readonly Dictionary<LayerKind, double> _forward = [];
        private readonly List<(LayerKind Kind, long At)> _arrivals = [];
        private long _layerStart, _lastLayerEnd;

        public Dictionary<LayerKind, int> LayerCounts { get; } = kinds.Values.GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());

        public List<Action> Attach(nn.Module model)
        {
            var removers = new List<Action>();
            foreach (var (module, kind) in kinds)
            {
                var layer = (nn.Module<Tensor, Tensor>)module;
                removers.Add(layer.register_forward_pre_hook((m, input) =>
                {
                    _layerStart = Stopwatch.GetTimestamp();
                    if (_lastLayerEnd != 0) Add(_forward, LayerKind.BetweenLayers, _layerStart - _lastLayerEnd);
                    return input;
                }).remove);
                removers.Add(layer.register_forward_hook((m, input, output) =>
                {
                    long end = Stopwatch.GetTimestamp();
                    Add(_forward, kind, end - _layerStart);
                    var probed = output.requires_grad ? GradientArrival.apply(output, this, kind) : output;
                    _lastLayerEnd = Stopwatch.GetTimestamp();
                    return probed;
                }).remove);
            }
            return removers;
        }

        public void NoteArrival(LayerKind kind) => _arrivals.Add((kind, Stopwatch.GetTimestamp()));

        public (double Total, Dictionary<LayerKind, (double Forward, double Backward)> Kinds) Step(SegmentationModel model, optim.Optimizer optimizer, Tensor input, Tensor target)
        {
            _forward.Clear();
            _arrivals.Clear();
            _lastLayerEnd = 0;
            var backward = new Dictionary<LayerKind, double>();
            long start = Stopwatch.GetTimestamp(), lossStart, backwardEnd, stepEnd;
            using (NewDisposeScope())
            {
                optimizer.zero_grad();
                var logits = model.call(input);
                lossStart = Stopwatch.GetTimestamp();
                Add(_forward, LayerKind.BetweenLayers, lossStart - _lastLayerEnd); // after the last layer
                var loss = nn.functional.binary_cross_entropy_with_logits(logits, target);
                long backwardStart = Stopwatch.GetTimestamp();
                Add(_forward, LayerKind.Loss, backwardStart - lossStart);
                loss.backward();
                backwardEnd = Stopwatch.GetTimestamp();
                optimizer.step();
                stepEnd = Stopwatch.GetTimestamp();
                // The loss's own backward runs until the first layer output's gradient arrives; each layer's until the next arrival.
                Add(backward, LayerKind.Loss, (_arrivals.Count > 0 ? _arrivals[0].At : backwardEnd) - backwardStart);
                for (int i = 0; i < _arrivals.Count; i++)
                    Add(backward, _arrivals[i].Kind, (i + 1 < _arrivals.Count ? _arrivals[i + 1].At : backwardEnd) - _arrivals[i].At);
            }
            Add(_forward, LayerKind.OptimizerStep, stepEnd - backwardEnd);
            var all = _forward.Keys.Union(backward.Keys).ToDictionary(k => k, k => (_forward.GetValueOrDefault(k), backward.GetValueOrDefault(k)));
            return (Milliseconds(stepEnd - start), all);
        }

        private static void Add(Dictionary<LayerKind, double> totals, LayerKind kind, long ticks) =>
            totals[kind] = totals.GetValueOrDefault(kind) + Milliseconds(ticks);

        private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>The identity, whose backward notes when the gradient of a layer's output arrives.</summary>
    private sealed class GradientArrival : torch.autograd.SingleTensorFunction<GradientArrival>
    {
        private const string RecorderKey = "recorder", KindKey = "kind";

        public override string Name => nameof(GradientArrival);

        public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data(RecorderKey, vars[1]);
            ctx.save_data(KindKey, vars[2]);
            return ((Tensor)vars[0]).alias();
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad_output)
        {
            ((StepRecorder)ctx.get_data(RecorderKey)).NoteArrival((LayerKind)ctx.get_data(KindKey));
            return [grad_output, null!, null!];
        }
    }
}
