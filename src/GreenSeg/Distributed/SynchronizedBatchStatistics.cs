using GreenSeg.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace GreenSeg.Distributed;

/// <summary>
/// <c>--sync-batchnorm</c>: every BatchNorm of the model normalises with the statistics of the global batch. The per-channel
/// sums are summed across ranks by an Allreduce that autograd knows (<see cref="AllreduceSum"/>), so the backward pass
/// sums their gradients across ranks too; with it, R ranks of batch B compute what one process of batch R·B does.
/// </summary>
public sealed class SynchronizedBatchStatistics(MpiCommunicator world) : IProcessSum
{
    public static void Attach(nn.Module model, MpiCommunicator world)
    {
        var sum = new SynchronizedBatchStatistics(world);
        foreach (var norm in model.modules().OfType<FinalizerSafeBatchNorm2d>()) norm.ProcessSum = sum;
    }

    public Tensor Sum(Tensor local) => AllreduceSum.apply(local, world);

    /// <summary>y = Σ over ranks of x; dL/dx = Σ over ranks of dL/dy (each rank's loss depends on every rank's x).</summary>
    private sealed class AllreduceSum : torch.autograd.SingleTensorFunction<AllreduceSum>
    {
        private const string WorldKey = "world";

        public override string Name => nameof(AllreduceSum);

        public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var world = (MpiCommunicator)vars[1];
            ctx.save_data(WorldKey, world);
            return Across(world, (Tensor)vars[0]);
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad_output) =>
            [Across((MpiCommunicator)ctx.get_data(WorldKey), grad_output), null!];

        private static Tensor Across(MpiCommunicator world, Tensor tensor)
        {
            var values = tensor.detach().to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            world.AllreduceSum(values, values.Length);
            return torch.tensor(values, tensor.shape).to_type(tensor.dtype).to(tensor.device);
        }
    }
}
