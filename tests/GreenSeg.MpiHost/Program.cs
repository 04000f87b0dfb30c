using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Distributed;
using GreenSeg.Training;
using TorchSharp;
using static TorchSharp.torch;

// greenseg-mpi-host STEPS PER_RANK_BATCH OUT [none|bf16|int8]: trains a tiny network without BatchNorm for STEPS SGD steps on
// seeded global batches of PER_RANK_BATCH x ranks, each rank on its share, gradients averaged by DataParallelHook; rank 0
// writes the final parameters (one float per line) to OUT. One rank with batch 8 and two with batch 4 must agree.
int steps = int.Parse(args[0], CultureInfo.InvariantCulture);
int batch = int.Parse(args[1], CultureInfo.InvariantCulture);
string output = args[2];
var compression = args.Length > 3 ? ChoiceNames.Parse<GradCompression>(args[3], "compression") : GradCompression.None;

using var world = MpiCommunicator.World();
torch.set_num_threads(1);
// Each rank starts from other weights: the broadcast must make them rank 0's.
torch.manual_seed(11 + world.Rank);
var model = nn.Sequential(nn.Conv2d(1, 4, 3, padding: 1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding: 1), nn.ReLU(), nn.Conv2d(4, 1, 1));
var hook = new DataParallelHook(world, new ParallelSection { Distributed = DistributedMode.Mpi, GradCompression = compression });
hook.BroadcastFromRoot(model);
var optimizer = torch.optim.SGD(model.parameters(), 0.05, momentum: 0.9);
int global = batch * world.Size;
for (int step = 0; step < steps; step++)
{
    using var scope = torch.NewDisposeScope();
    var generator = new torch.Generator((ulong)(1000 + step));
    var images = torch.randn([global, 1, 16, 16], generator: generator);
    var masks = (torch.rand([global, 1, 16, 16], generator: generator) > 0.5f).to_type(ScalarType.Float32);
    var mine = images.narrow(0, world.Rank * batch, batch);
    var target = masks.narrow(0, world.Rank * batch, batch);
    // libtorch's convolution backward returns NaN now and then on these machines, more often under load (a loaded CI
    // run once saw 5 in a row): every rank sees the averaged NaN, so all recompute the step together, as often as
    // training itself would skip one before calling the run diverged.
    for (int attempt = 1; ; attempt++)
    {
        optimizer.zero_grad();
        var loss = nn.functional.binary_cross_entropy_with_logits(model.call(mine), target);
        loss.backward();
        hook.AverageGradients(model);
        if (GradientClipping.AllFinite(model.parameters())) break;
        if (attempt == TrainingRun.MaxSkippedStepsInARow)
            throw new InvalidOperationException($"step {step}: gradients not finite {attempt} times in a row");
    }
    optimizer.step();
}
if (world.Rank == 0)
{
    using var noGrad = torch.no_grad();
    var values = model.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray();
    File.WriteAllLines(output, values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}
