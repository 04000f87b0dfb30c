using GreenSeg.Common;
using GreenSeg.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

public class OptimizerTests
{
    public static TheoryData<OptimizerKind, OptimizerSettings> EveryOptimizer => new()
    {
        { OptimizerKind.Sgd, new OptimizerSettings { LearningRate = 0.05, Momentum = 0.9 } },
        { OptimizerKind.Sgd, new OptimizerSettings { LearningRate = 0.05, Momentum = 0.9, Nesterov = true, WeightDecay = 1e-4 } },
        { OptimizerKind.Adam, new OptimizerSettings { LearningRate = 0.05 } },
        { OptimizerKind.AdamW, new OptimizerSettings { LearningRate = 0.05, WeightDecay = 0.01 } },
        { OptimizerKind.Novograd, new OptimizerSettings { LearningRate = 0.02 } },
        { OptimizerKind.Novograd, new OptimizerSettings { LearningRate = 0.05, GradAveraging = true, AmsGrad = true, WeightDecay = 1e-4 } },
        { OptimizerKind.Lion, new OptimizerSettings { LearningRate = 0.03, WeightDecay = 0.01 } },
    };

    [Theory]
    [MemberData(nameof(EveryOptimizer))]
    public void EveryOptimizerLowersTheLossOfALinearRegression(OptimizerKind name, OptimizerSettings settings)
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var optimizer = OptimizerFactory.Create(name, model.parameters(), settings);
        double initial = problem.LossValue(model);
        for (int step = 0; step < 150; step++)
        {
            // The loss's pow(2) takes a temporary Scalar too (see ScalarLifetimeGuard).
            using var scalars = GreenSeg.Common.ScalarLifetimeGuard.Enter();
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            problem.Loss(model).backward();
            optimizer.step();
        }
        double final = problem.LossValue(model);
        initial.ShouldBeGreaterThan(1.0);
        final.ShouldBeLessThan(0.05 * initial, $"{name}: loss {initial} -> {final}");
    }

    [Fact]
    public void FactoryRejectsUnknownNamesAndNesterovWithoutMomentum()
    {
        using var model = nn.Linear(2, 1);
        Should.Throw<GreenSegException>(() => ChoiceNames.Parse<OptimizerKind>("adagrad", "optimizer")).Message.ShouldContain("novograd");
        Should.Throw<GreenSegException>(() => OptimizerFactory.Create((OptimizerKind)42, model.parameters(), new OptimizerSettings())).Message.ShouldContain("novograd");
        Should.Throw<GreenSegException>(() => OptimizerFactory.Create(OptimizerKind.Sgd, model.parameters(), new OptimizerSettings { Momentum = 0, Nesterov = true }));
        Should.Throw<GreenSegException>(() => OptimizerFactory.Create(OptimizerKind.Lion, model.parameters(), new OptimizerSettings { LearningRate = 0 }));
    }

    [Fact]
    public void FactoryPassesTheSettingsOn()
    {
        using var model = nn.Linear(2, 1);
        using var novograd = (Novograd)OptimizerFactory.Create(OptimizerKind.Novograd, model.parameters(),
            new OptimizerSettings { LearningRate = 0.3, Beta1 = 0.8, WeightDecay = 0.01, GradAveraging = true, AmsGrad = true });
        var group = (Novograd.ParamGroup)novograd.ParamGroups.Single();
        group.LearningRate.ShouldBe(0.3);
        group.Betas.ShouldBe((0.8, 0.98));
        group.Options.WeightDecay.ShouldBe(0.01);
        group.Options.GradAveraging.ShouldBe(true);
        group.Options.AmsGrad.ShouldBe(true);
        using var lion = (Lion)OptimizerFactory.Create(OptimizerKind.Lion, model.parameters(), new OptimizerSettings { LearningRate = 1e-4 });
        lion.Betas.ShouldBe((0.9, 0.99));
    }

    // Two parameter tensors (a 2-vector and a scalar-like 1-vector) in float64, gradients chosen per step via a
    // linear loss Σ c·p (whose gradient is exactly c), two steps so that the second exercises the running averages.
    private static readonly double[][] WeightGradients = [[0.3, -0.4], [-0.1, 0.2]];
    private static readonly double[][] BiasGradients = [[2.0], [-1.0]];
    private static readonly double[] InitialWeight = [1.0, -2.0];
    private static readonly double[] InitialBias = [0.5];

    [Theory]
    [InlineData(false, false, 0.0)]
    [InlineData(false, false, 0.1)]
    [InlineData(true, false, 0.1)]
    [InlineData(true, true, 0.1)]
    [InlineData(false, true, 0.0)]
    public void NovogradStepsMatchAHandComputedReference(bool gradAveraging, bool amsgrad, double weightDecay)
    {
        const double lr = 0.1, beta1 = 0.9, beta2 = 0.98, eps = 1e-8;
        using var weight = new Parameter(torch.tensor(InitialWeight, ScalarType.Float64));
        using var bias = new Parameter(torch.tensor(InitialBias, ScalarType.Float64));
        using var optimizer = new Novograd([weight, bias], lr, beta1, beta2, eps, weightDecay, gradAveraging, amsgrad);

        // Reference, one tensor at a time, straight from MONAI's update rule.
        double[] NovogradReference(double[] p, double[][] grads, int steps)
        {
            p = (double[])p.Clone();
            var m = new double[p.Length];
            double v = 0, vMax = 0;
            for (int t = 0; t < steps; t++)
            {
                double[] g = grads[t];
                double norm = g.Sum(x => x * x);
                v = v == 0 ? norm : beta2 * v + (1 - beta2) * norm;
                vMax = Math.Max(vMax, v);
                double denom = Math.Sqrt(amsgrad ? vMax : v) + eps;
                for (int i = 0; i < p.Length; i++)
                {
                    double d = g[i] / denom + weightDecay * p[i];
                    if (gradAveraging) d *= 1 - beta1;
                    m[i] = beta1 * m[i] + d;
                    p[i] -= lr * m[i];
                }
            }
            return p;
        }

        for (int step = 0; step < 2; step++)
        {
            StepWithGradients(optimizer, weight, bias, step);
            Values64(weight).ShouldBe(NovogradReference(InitialWeight, WeightGradients, step + 1), 1e-12);
            Values64(bias).ShouldBe(NovogradReference(InitialBias, BiasGradients, step + 1), 1e-12);
        }
    }

    [Fact]
    public void NovogradFirstStepTakesTheNormAsIsAndAmsGradKeepsTheMaximum()
    {
        // Spelled out for the bias tensor (one element) with grad_averaging off, no weight decay, lr 0.1:
        // step 1: v = 2² = 4, d = 2/2 = 1, m = 1, p = 0.5 - 0.1 = 0.4
        // step 2: v = 0.98·4 + 0.02·1 = 3.94, d = -1/√3.94, m = 0.9 - 1/√3.94, p = 0.4 - 0.1·m
        // with AMSGrad v̂ = max(4, 3.94) = 4, d = -0.5, m = 0.4, p = 0.36
        using var weight = new Parameter(torch.tensor(InitialWeight, ScalarType.Float64));
        using var bias = new Parameter(torch.tensor(InitialBias, ScalarType.Float64));
        using var amsWeight = new Parameter(torch.tensor(InitialWeight, ScalarType.Float64));
        using var amsBias = new Parameter(torch.tensor(InitialBias, ScalarType.Float64));
        using var plain = new Novograd([weight, bias], lr: 0.1, eps: 0);
        using var ams = new Novograd([amsWeight, amsBias], lr: 0.1, eps: 0, amsgrad: true);
        StepWithGradients(plain, weight, bias, 0);
        StepWithGradients(ams, amsWeight, amsBias, 0);
        Values64(bias).ShouldBe([0.4], 1e-15);
        Values64(amsBias).ShouldBe([0.4], 1e-15);
        StepWithGradients(plain, weight, bias, 1);
        StepWithGradients(ams, amsWeight, amsBias, 1);
        Values64(bias).ShouldBe([0.4 - 0.1 * (0.9 - 1 / Math.Sqrt(3.94))], 1e-15);
        Values64(amsBias).ShouldBe([0.36], 1e-15);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public void LionStepsMatchAHandComputedReference(double weightDecay)
    {
        const double lr = 0.01, beta1 = 0.9, beta2 = 0.99;
        using var weight = new Parameter(torch.tensor(InitialWeight, ScalarType.Float64));
        using var bias = new Parameter(torch.tensor(InitialBias, ScalarType.Float64));
        using var optimizer = new Lion([weight, bias], lr, beta1, beta2, weightDecay);

        double[] LionReference(double[] p, double[][] grads, int steps)
        {
            p = (double[])p.Clone();
            var m = new double[p.Length];
            for (int t = 0; t < steps; t++)
            {
                for (int i = 0; i < p.Length; i++)
                {
                    double g = grads[t][i];
                    double update = Math.Sign(beta1 * m[i] + (1 - beta1) * g);
                    p[i] -= lr * (update + weightDecay * p[i]);
                    m[i] = beta2 * m[i] + (1 - beta2) * g;
                }
            }
            return p;
        }

        for (int step = 0; step < 2; step++)
        {
            StepWithGradients(optimizer, weight, bias, step);
            Values64(weight).ShouldBe(LionReference(InitialWeight, WeightGradients, step + 1), 1e-15);
            Values64(bias).ShouldBe(LionReference(InitialBias, BiasGradients, step + 1), 1e-15);
        }
        // Second step of the bias without decay, by hand: m = 0.01·2 = 0.02; sign(0.9·0.02 + 0.1·(-1)) = -1;
        // so the bias moved -0.01 then +0.01 and is back at 0.5.
        if (weightDecay == 0) Values64(bias).ShouldBe([0.5], 1e-15);
    }

    public static TheoryData<OptimizerKind, OptimizerSettings> RoundTripCases => new()
    {
        { OptimizerKind.Sgd, new OptimizerSettings { LearningRate = 0.05, Momentum = 0.9, Nesterov = true } },
        { OptimizerKind.Adam, new OptimizerSettings { LearningRate = 0.05, AmsGrad = true } },
        { OptimizerKind.AdamW, new OptimizerSettings { LearningRate = 0.05, WeightDecay = 0.01 } },
        { OptimizerKind.Novograd, new OptimizerSettings { LearningRate = 0.02, AmsGrad = true, GradAveraging = true, WeightDecay = 1e-3 } },
        { OptimizerKind.Novograd, new OptimizerSettings { LearningRate = 0.02 } },
        { OptimizerKind.Lion, new OptimizerSettings { LearningRate = 0.01, WeightDecay = 0.1 } },
    };

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void StateDictRoundTripGivesTheSameNextStep(OptimizerKind name, OptimizerSettings settings)
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var optimizer = OptimizerFactory.Create(name, model.parameters(), settings);
        for (int step = 0; step < 3; step++) TrainStep(problem, model, optimizer);
        // A scheduler may have changed the rate and betas: they must travel with the state.
        optimizer.ParamGroups.First().LearningRate = settings.LearningRate / 3;
        using var saved = new MemoryStream();
        optimizer.save_state_dict(new BinaryWriter(saved));
        using var resumed = problem.CreateModel(seed: 99);
        resumed.load_state_dict(model.state_dict());

        TrainStep(problem, model, optimizer);

        using var resumedOptimizer = OptimizerFactory.Create(name, resumed.parameters(), settings);
        saved.Position = 0;
        resumedOptimizer.load_state_dict(new BinaryReader(saved));
        resumedOptimizer.ParamGroups.First().LearningRate.ShouldBe(settings.LearningRate / 3);
        TrainStep(problem, resumed, resumedOptimizer);
        TrainingProblems.Bytes(resumed).ShouldBe(TrainingProblems.Bytes(model));
    }

    [Fact]
    public void LoadingAnotherOptimizersStateCopiesValuesInsteadOfSharingTensors()
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var source = new Novograd(model.parameters(), lr: 0.02, amsgrad: true);
        for (int step = 0; step < 2; step++) TrainStep(problem, model, source);
        using var target = new Novograd(model.parameters(), lr: 0.02, amsgrad: true);
        target.load_state_dict(source.state_dict());
        var sourceState = (Novograd.State)source.state_dict().State[0];
        var targetState = (Novograd.State)target.state_dict().State[0];
        targetState.ApproximatelyEquals(sourceState).ShouldBeTrue();
        targetState.ExpAvg.Handle.ShouldNotBe(sourceState.ExpAvg.Handle);
        source.Dispose();
        targetState.ExpAvg.sum().ToDouble().ShouldNotBe(0);
    }

    [Theory]
    [InlineData(OptimizerKind.Novograd)]
    [InlineData(OptimizerKind.Lion)]
    [InlineData(OptimizerKind.Adam)]
    public void ManyStepsLeakNoTensors(OptimizerKind name)
    {
        using var net = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding: 1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding: 1));
        TrainingProblems.InitDeterministic(net, 3);
        using var generator = new Generator(5);
        using var images = torch.randn([2, 1, 16, 16], generator: generator);
        using var masks = images.gt(0.3).to_type(ScalarType.Float32);
        var loss = GreenSeg.Training.Losses.LossFactory.Create(GreenSeg.Training.Losses.LossKind.DiceBce);
        using var optimizer = OptimizerFactory.Create(name, net.parameters(), new OptimizerSettings { LearningRate = 1e-3 });

        void Step()
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            loss.Compute(net.call(images), masks).backward();
            GreenSeg.Training.GradientClipping.ClipNorm(net.parameters(), 1.0);
            optimizer.step();
        }

        // The first steps create the gradients, which live with the parameters from then on.
        for (int i = 0; i < 3; i++) Step();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 100; i++)
        {
            Step();
            DisposeScopeManager.Statistics.ThreadTotalLiveCount.ShouldBe(live, $"after step {i}");
        }
    }

    private static void TrainStep(LinearRegressionProblem problem, Linear model, OptimizerHelper optimizer)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        problem.Loss(model).backward();
        optimizer.step();
    }

    private static void StepWithGradients(OptimizerHelper optimizer, Parameter weight, Parameter bias, int step)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        var loss = (weight * torch.tensor(WeightGradients[step], ScalarType.Float64)).sum()
                   + (bias * torch.tensor(BiasGradients[step], ScalarType.Float64)).sum();
        loss.backward();
        optimizer.step();
    }

    private static double[] Values64(Tensor tensor) => tensor.detach().data<double>().ToArray();
}
