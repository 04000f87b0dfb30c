using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Training;

/// <summary>
/// A copy of a model's weights and buffers and its optimizer's state, put back bit for bit on dispose:
/// for the probes (LR finder, batch-size finder) that train for a while and must leave no trace.
/// </summary>
public sealed class TrainingSnapshot : IDisposable
{
    private readonly nn.Module _model;
    private readonly OptimizerHelper _optimizer;
    private readonly Dictionary<string, Tensor> _weights;
    private readonly MemoryStream _optimizerState = new();

    private TrainingSnapshot(nn.Module model, OptimizerHelper optimizer)
    {
        _model = model;
        _optimizer = optimizer;
        using (var scope = torch.NewDisposeScope())
            _weights = model.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.detach().clone().DetachFromDisposeScope());
        optimizer.save_state_dict(new BinaryWriter(_optimizerState));
    }

    public static TrainingSnapshot Take(nn.Module model, OptimizerHelper optimizer) => new(model, optimizer);

    public void Dispose()
    {
        using (torch.no_grad())
        {
            foreach (var (name, tensor) in _model.state_dict()) tensor.copy_(_weights[name]);
        }
        foreach (var tensor in _weights.Values) tensor.Dispose();
        _optimizerState.Position = 0;
        _optimizer.load_state_dict(new BinaryReader(_optimizerState));
        using (torch.NewDisposeScope()) _optimizer.zero_grad();
        _optimizerState.Dispose();
    }
}
