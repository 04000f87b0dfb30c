using GreenSeg.Common;
using GreenSeg.Training;
using GreenSeg.Training.Optimizers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

public class LrFinderTests(ITestOutputHelper output)
{
    private static readonly LrFinderOptions Sweep = new() { MinLearningRate = 1e-5, MaxLearningRate = 10, Steps = 100 };

    [Fact]
    public void SuggestionLandsInTheKnownGoodRangeOfALinearRegression()
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, model.parameters(), new OptimizerSettings { LearningRate = 0.01, Momentum = 0 });

        var result = LrFinder.Run(model, optimizer, () => problem.Loss(model), Sweep);

        // Known-good range, from the curvature of this quadratic loss: full-batch gradient descent diverges at
        // lr >= 2/λmax, and below lr_low = (1 - 0.01^(1/200))/λmin even 100 steps leave more than 1% of the
        // slowest error component's loss.
        var (lambdaMin, lambdaMax) = problem.HessianEigenvalues();
        double low = (1 - Math.Pow(0.01, 1.0 / 200)) / lambdaMin, high = 2 / lambdaMax;
        output.WriteLine($"good range [{low:g3}, {high:g3}), suggestion {result.Suggestion:g3}, {result.LearningRates.Count} points, diverged {result.Diverged}");
        result.Diverged.ShouldBeTrue();
        result.Suggestion.ShouldNotBeNull();
        result.Suggestion.Value.ShouldBeInRange(low, high);

        // The range is honest: the suggestion trains well, 10% above the stability limit blows up.
        FinalLossRatio(problem, result.Suggestion.Value).ShouldBeLessThan(0.01);
        FinalLossRatio(problem, 1.1 * high).ShouldBeGreaterThan(100);
    }

    private static double FinalLossRatio(LinearRegressionProblem problem, double learningRate)
    {
        using var model = problem.CreateModel();
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, model.parameters(), new OptimizerSettings { LearningRate = learningRate, Momentum = 0 });
        double initial = problem.LossValue(model);
        for (int step = 0; step < 100; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            problem.Loss(model).backward();
            optimizer.step();
        }
        return problem.LossValue(model) / initial;
    }

    [Theory]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.Novograd)]
    public void ModelAndOptimizerAreRestoredExactly(OptimizerKind name)
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var twin = problem.CreateModel();
        var settings = new OptimizerSettings { LearningRate = 0.01 };
        using var optimizer = OptimizerFactory.Create(name, model.parameters(), settings);
        using var twinOptimizer = OptimizerFactory.Create(name, twin.parameters(), settings);
        // Some history first, so that there are moments to restore.
        for (int i = 0; i < 2; i++)
        {
            TrainStep(problem, model, optimizer);
            TrainStep(problem, twin, twinOptimizer);
        }
        byte[] before = TrainingProblems.Bytes(model);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var result = LrFinder.Run(model, optimizer, () => problem.Loss(model), Sweep with { Steps = 30 });

        result.LearningRates.Count.ShouldBeGreaterThan(5);
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.ShouldBe(live);
        TrainingProblems.Bytes(model).ShouldBe(before);
        OptimizerLearningRate.Get(optimizer).ShouldBe(0.01);
        model.weight!.grad!.abs().sum().ToDouble().ShouldBe(0);
        // The next step is the one the twin, which never ran the finder, takes.
        TrainStep(problem, model, optimizer);
        TrainStep(problem, twin, twinOptimizer);
        TrainingProblems.Bytes(model).ShouldBe(TrainingProblems.Bytes(twin));
    }

    [Fact]
    public void StopsWhenTheLossDiverges()
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, model.parameters(), new OptimizerSettings { LearningRate = 0.01, Momentum = 0 });
        var result = LrFinder.Run(model, optimizer, () => problem.Loss(model), Sweep with { MaxLearningRate = 1e4, Steps = 200 });
        result.Diverged.ShouldBeTrue();
        result.LearningRates.Count.ShouldBeLessThan(200);
        double best = result.SmoothedLosses.Min();
        result.SmoothedLosses[^1].ShouldBeGreaterThan(4 * best);
        result.SmoothedLosses.Take(result.SmoothedLosses.Count - 1).ShouldAllBe(s => s <= 4 * best);
    }

    [Fact]
    public void SmoothingIsTheBiasCorrectedExponentialAverage()
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, model.parameters(), new OptimizerSettings { LearningRate = 0.01, Momentum = 0 });
        var result = LrFinder.Run(model, optimizer, () => problem.Loss(model), Sweep with { Steps = 20, MaxLearningRate = 1e-3 });
        result.LearningRates[0].ShouldBe(1e-5, 1e-18);
        result.LearningRates[^1].ShouldBe(1e-3, 1e-15);
        result.SmoothedLosses[0].ShouldBe(result.Losses[0], 1e-12);
        double average = 0;
        for (int i = 0; i < result.Losses.Count; i++)
        {
            average = 0.98 * average + 0.02 * result.Losses[i];
            result.SmoothedLosses[i].ShouldBe(average / (1 - Math.Pow(0.98, i + 1)), 1e-9);
        }
    }

    [Fact]
    public void SteepestDescentFindsTheSteepestPointOfTheCurve()
    {
        // A logistic drop centred at lr = 1e-2 (steepest there), then a rise: the suggestion is the centre.
        double[] rates = Enumerable.Range(0, 61).Select(i => Math.Pow(10, -5 + i * 0.1)).ToArray();
        double[] losses = rates.Select(r => 1 / (1 + Math.Exp(4 * (Math.Log10(r) + 2))) + 0.01 * Math.Max(0, Math.Log10(r))).ToArray();
        LrFinder.SteepestDescent(rates, losses, 2, 2).ShouldNotBeNull().ShouldBe(1e-2, 1e-9);
        // No decrease at all, or too few points: no suggestion.
        LrFinder.SteepestDescent(rates, rates.Select(Math.Log10).ToArray(), 0, 0).ShouldBeNull();
        LrFinder.SteepestDescent(rates.Take(6).ToArray(), losses.Take(6).ToArray(), 2, 2).ShouldBeNull();
    }

    [Fact]
    public void WritesAPngOfTheCurve()
    {
        using var problem = new LinearRegressionProblem();
        using var model = problem.CreateModel();
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, model.parameters(), new OptimizerSettings { LearningRate = 0.01, Momentum = 0 });
        var result = LrFinder.Run(model, optimizer, () => problem.Loss(model), Sweep);
        string dir = Directory.CreateTempSubdirectory("greenseg-lrfinder-").FullName;
        try
        {
            string path = Path.Combine(dir, "lr-finder.png");
            result.SavePlot(path);
            byte[] png = File.ReadAllBytes(path);
            png.Length.ShouldBeGreaterThan(5000);
            png.Take(8).ShouldBe(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
            Directory.GetFiles(dir).ShouldBe([path]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RejectsAnEmptyRange()
    {
        using var model = nn.Linear(2, 1);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, model.parameters(), new OptimizerSettings());
        Should.Throw<GreenSegException>(() => LrFinder.Run(model, optimizer, () => torch.zeros(1), Sweep with { MinLearningRate = 1, MaxLearningRate = 1 }));
    }

    private static void TrainStep(LinearRegressionProblem problem, TorchSharp.Modules.Linear model, TorchSharp.Modules.OptimizerHelper optimizer)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        problem.Loss(model).backward();
        optimizer.step();
    }

    [Fact]
    public void TheSuggestionReadsTheCentredMeanNotTheLaggingAverage()
    {
        // 60 rates over 1e-5..1; the loss falls fastest at 3e-3 (a logistic step in log-rate), then is noisy.
        var rates = Enumerable.Range(0, 60).Select(i => 1e-5 * Math.Pow(1e5, i / 59.0)).ToList();
        var random = new Random(2);
        var losses = rates.Select(r => 1.7 - 0.9 / (1 + Math.Exp(-4 * (Math.Log10(r) - Math.Log10(3e-3)))) + (r > 2e-2 ? 0.2 * random.NextDouble() : 0)).ToList();
        double average = 0;
        var lagging = losses.Select((l, i) => (average = 0.98 * average + 0.02 * l) / (1 - Math.Pow(0.98, i + 1))).ToList();

        double suggestion = LrFinder.SteepestDescent(rates, LrFinder.CentredMean(losses, 7), 10, 5)!.Value;
        double laggingSuggestion = LrFinder.SteepestDescent(rates, lagging, 10, 5)!.Value;

        Math.Abs(Math.Log10(suggestion / 3e-3)).ShouldBeLessThan(0.3);
        laggingSuggestion.ShouldBeGreaterThan(suggestion * 1.5);
    }

    [Fact]
    public void AFallAfterASpikePastTheMinimumIsNotSuggested()
    {
        // The real-data shape: a steady descent centred at 3e-3 down to a minimum near 3e-2, then a spike
        // at 0.1, a steeper fall back from it and a rise; the suggestion must stay on the first descent.
        var rates = Enumerable.Range(0, 60).Select(i => 1e-5 * Math.Pow(1e5, i / 59.0)).ToList();
        var losses = rates.Select(r =>
        {
            double x = Math.Log10(r);
            double descent = 1.7 - 0.9 / (1 + Math.Exp(-3 * (x - Math.Log10(3e-3))));
            double spike = 2.5 * Math.Exp(-Math.Pow((x + 1) / 0.15, 2));
            double divergence = Math.Max(0, 0.6 * (x + 1.5));
            return descent + spike + divergence;
        }).ToList();

        double suggestion = LrFinder.SteepestDescent(rates, LrFinder.CentredMean(losses, 7), 10, 5)!.Value;

        Math.Abs(Math.Log10(suggestion / 3e-3)).ShouldBeLessThan(0.3);
    }

    [Fact]
    public void TheCentredMeanNarrowsAtTheEnds()
    {
        LrFinder.CentredMean([1, 2, 3, 4, 5, 6], 5).ShouldBe([1, 2, 3, 4, 5, 6]);
        LrFinder.CentredMean([0, 3, 0, 3, 0], 3).ShouldBe([0, 1, 2, 1, 0]);
    }
}
