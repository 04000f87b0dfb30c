using System.Text.Json;
using GreenSeg.Common;
using GreenSeg.Pipelines;
using GreenSeg.Studies;
using GreenSeg.Imaging;
using GreenSeg.Phantom;
using GreenSeg.Tests.Cli;
using GreenSeg.Tests.Inference;
using GreenSeg.Training;

namespace GreenSeg.Tests.Pipelines;

[Collection(nameof(ConsoleCollection))]
public sealed class E2mipPipelineTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-e2mip-").FullName;
    private string Phantom => Path.Combine(_root, "phantom");
    private string Out => Path.Combine(_root, "out");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void TrainsPredictsEveryTestStackAndReportsDicePerKilojoule()
    {
        PhantomWriter.WriteDataset(Phantom, new PhantomOptions { Seed = 5, TrainStacks = new(1, 1, 1), TestStacks = new(1, 1, 0) });
        string test = Path.Combine(Phantom, "test_volume"), truth = Path.Combine(test, "masks");

        var (exitCode, output) = CliRunner.Run("e2mip", Path.Combine(Phantom, "train_slice"), test, "--out", Out, "--truth", truth,
            "--model", "micronet", "--size", "32", "--spacing", "8", "--epochs", "1", "--lr", "3e-3", "--precision", "fp32", "--channels-last", "false", "--threads", "2");

        exitCode.ShouldBe(0, output);
        string predictions = Path.Combine(Out, E2mipPipeline.PredictionFolderName);
        Directory.GetFiles(predictions).Select(Path.GetFileName).Order().ShouldBe(["DWI_vol0001_maskpred.nii.gz", "T2W_vol0001_maskpred.nii.gz"]);
        foreach (string stack in NiftiFiles.InFolder(Path.Combine(test, "images")))
            ShouldMatchStack(Path.Combine(predictions, NiftiFiles.Stem(stack) + E2mipPipeline.PredictionSuffix + ".nii.gz"), stack);

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, E2mipPipeline.SummaryFileName)));
        var root = summary.RootElement;
        root.GetProperty("training").GetProperty("model").GetString().ShouldBe("micronet");
        root.GetProperty("training").GetProperty("energy_kj").GetDouble().ShouldBeGreaterThan(0);
        root.GetProperty("inference").GetProperty("energy_kj").GetDouble().ShouldBeGreaterThan(0);
        root.GetProperty("inference").GetProperty("stacks").GetArrayLength().ShouldBe(2);
        double meanDice = root.GetProperty("evaluation").GetProperty("mean_dice").GetDouble();
        meanDice.ShouldBeInRange(0, 1);
        double total = root.GetProperty("total_energy_kj").GetDouble();
        total.ShouldBe(root.GetProperty("training").GetProperty("energy_kj").GetDouble() + root.GetProperty("inference").GetProperty("energy_kj").GetDouble(), 1e-9);
        root.GetProperty("dice_per_kj").GetDouble().ShouldBe(meanDice / total, 1e-9);
        root.GetProperty("total_energy_origin").GetString().ShouldBeOneOf("measured", "estimated");
        foreach (string file in new[] { "inference.csv", "emissions.csv", "evaluation/cases.csv", "run/checkpoints/best/model.pt" })
            File.Exists(Path.Combine(Out, file)).ShouldBeTrue(file);
        output.ShouldContain("Dice per kJ");
    }

    [Fact]
    public void PlanRefusesWhatCannotWorkBeforeTraining()
    {
        PhantomWriter.WriteDataset(Phantom, new PhantomOptions { Seed = 5, TrainStacks = new(1, 1, 0), TestStacks = new(0, 0, 0) });
        string train = Path.Combine(Phantom, "train_slice"), emptyTest = Path.Combine(_root, "empty");
        Directory.CreateDirectory(emptyTest);
        E2mipOptions Options(string test, string? truth = null) => new() { TrainFolder = train, TestFolder = test, OutputFolder = Out, TruthFolder = truth };

        Should.Throw<InvalidInputException>(() => E2mipPipeline.Plan(Options(emptyTest))).Path.ShouldBe(emptyTest);
        Should.Throw<InvalidInputException>(() => E2mipPipeline.Plan(Options(train, truth: Path.Combine(_root, "nowhere")))).Problem.ShouldContain("truth");
        Should.Throw<InvalidInputException>(() => E2mipPipeline.Plan(Options(train) with { TrainFolder = emptyTest }));

        var plan = E2mipPipeline.Plan(Options(Path.Combine(train, "images")));
        plan.Prediction.Jobs.Count.ShouldBe(plan.TrainingSlices);
        plan.Prediction.Jobs.ShouldAllBe(j => j.MaskPath.StartsWith(Path.Combine(Out, E2mipPipeline.PredictionFolderName)) && j.MaskPath.EndsWith("_maskpred.nii.gz"));
        Directory.CreateDirectory(Path.Combine(Out, "run", "checkpoints"));
        Should.Throw<InvalidInputException>(() => E2mipPipeline.Plan(Options(Path.Combine(train, "images")))).Problem.ShouldContain("already holds");
    }

    [Theory]
    [InlineData("test_volume_prediction")]
    [InlineData("run")]
    [InlineData("evaluation")]
    public void A_symlink_inside_the_output_folder_is_refused_not_followed(string name)
    {
        PhantomWriter.WriteDataset(Phantom, new PhantomOptions { Seed = 5, TrainStacks = new(1, 0, 0), TestStacks = new(0, 0, 0) });
        string elsewhere = Path.Combine(_root, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        Directory.CreateDirectory(Out);
        Directory.CreateSymbolicLink(Path.Combine(Out, name), elsewhere);
        string train = Path.Combine(Phantom, "train_slice");

        var error = Should.Throw<InvalidInputException>(() => E2mipPipeline.Plan(new E2mipOptions { TrainFolder = train, TestFolder = Path.Combine(train, "images"), OutputFolder = Out }));

        error.Path.ShouldBe(Path.Combine(Out, name));
        error.Problem.ShouldContain("symbolic link");
        Directory.GetFileSystemEntries(elsewhere).ShouldBeEmpty();
    }

    [Fact]
    public void TheDemoRefusesAFolderThatIsNotEmpty()
    {
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "keep.txt"), "mine");
        Should.Throw<InvalidInputException>(() => Demo.Prepare(Out, 1, Demo.Recipe(1, 1))).Problem.ShouldContain("not empty");
        File.ReadAllText(Path.Combine(Out, "keep.txt")).ShouldBe("mine");
    }

    /// <summary>
    /// The E2MIP contract on the real data with a tiny budget: one epoch at 128 x 128 and 2 mm, fixed rate
    /// (no LR finder), NCHW. The masks need not be good; each must exist under its stack's name with the
    /// stack's shape and affine.
    /// </summary>
    [RealDataFact]
    public void OnTheRealDataEveryTestStackGetsAMaskWithItsShapeAndAffine()
    {
        string data = RealData.E2mipFetalOrThrow;
        var recipe = new TrainingOptions
        {
            Preprocessing = new() { Size = 128, Spacing = 2 },
            Schedule = new() { Epochs = 1 },
            Optimisation = new() { LearningRate = "1e-3" },
            Compute = new() { ChannelsLast = false, Threads = 2 },
        };

        var result = E2mipPipeline.Run(new E2mipOptions
        {
            TrainFolder = Path.Combine(data, "train_slice"),
            TestFolder = Path.Combine(data, "test_volume"),
            OutputFolder = Out,
            Training = recipe,
        });

        result.Prediction.AllSucceeded.ShouldBeTrue();
        var stacks = NiftiFiles.InFolder(Path.Combine(data, "test_volume", "images"));
        stacks.Count.ShouldBe(6);
        string predictions = Path.Combine(Out, "test_volume_prediction");
        Directory.GetFiles(predictions).Length.ShouldBe(6);
        foreach (string stack in stacks)
            ShouldMatchStack(Path.Combine(predictions, NiftiFiles.Stem(stack) + "_maskpred.nii.gz"), stack);
        File.Exists(Path.Combine(Out, "e2mip-summary.json")).ShouldBeTrue();
        var review = result.Review.ShouldNotBeNull();
        review.Rows.Count.ShouldBe(6);
        review.Rows.ShouldAllBe(r => r.Error == null && r.Slices > 0);
        File.ReadAllText(Path.Combine(Out, "review.html")).ShouldContain("data-images-total=\"6\"");
    }

    private static void ShouldMatchStack(string predictionPath, string stackPath)
    {
        File.Exists(predictionPath).ShouldBeTrue(predictionPath);
        var prediction = NiftiImage.Read(predictionPath);
        var stack = NiftiImage.Read(stackPath);
        (prediction.SizeX, prediction.SizeY, prediction.SizeZ).ShouldBe((stack.SizeX, stack.SizeY, stack.SizeZ));
        prediction.Header.Affine().ShouldBe(stack.Header.Affine());
        prediction.Header.DataType.ShouldBe(NiftiDataType.UInt8);
        prediction.Raw.ShouldAllBe(v => v == 0 || v == 1);
    }
}
