using GreenSeg.Common;
using GreenSeg.Training;
using static TorchSharp.torch;

namespace GreenSeg.Tests.Training;

[Collection(nameof(SerialTorch))]
public sealed class DistillationTests(SmallPhantom phantom) : IClassFixture<SmallPhantom>, IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("greenseg-distill-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    [Fact]
    public void The_blend_keeps_the_task_loss_at_weight_zero_and_pulls_the_student_toward_the_teacher()
    {
        using var scope = NewDisposeScope();
        var task = tensor(0.7f);
        var teacherProbabilities = tensor(new[] { 0.9f, 0.2f, 0.6f, 0.05f }, [1, 1, 2, 2]);

        DistillationHook.Blend(task, zeros(1, 1, 2, 2), teacherProbabilities, weight: 0, temperature: 2).item<float>().ShouldBe(0.7f);

        // The distillation term's gradient vanishes where the student's softened probabilities equal the teacher's,
        // and points toward them elsewhere.
        const double T = 2;
        var matching = (logit(teacherProbabilities) * T).detach().requires_grad_(true);
        DistillationHook.Blend(task, matching, teacherProbabilities, weight: 1, temperature: T).backward();
        matching.grad!.abs().max().item<float>().ShouldBeLessThan(1e-6f);

        var student = zeros(1, 1, 2, 2).requires_grad_(true);
        DistillationHook.Blend(task, student, teacherProbabilities, weight: 1, temperature: T).backward();
        var step = -student.grad!; // gradient descent moves the logits this way
        var wanted = (teacherProbabilities - 0.5f).sign();
        (step.sign() == wanted).all().item<bool>().ShouldBeTrue();
    }

    [Fact]
    public void A_student_learns_from_its_teacher_and_at_weight_zero_trains_exactly_as_without_one()
    {
        string teacher = Path.Combine(_runs, "teacher");
        Trainer.Train(phantom.Tiny(epochs: 1), teacher);
        var student = phantom.Tiny(epochs: 2) with { Seed = 3 };

        var alone = Trainer.Train(student, Path.Combine(_runs, "alone"));
        var silent = Trainer.Train(student with { Distillation = new() { DistillFrom = teacher, DistillWeight = 0 } }, Path.Combine(_runs, "silent"));
        var taught = Trainer.Train(student with { Distillation = new() { DistillFrom = teacher, DistillWeight = 0.7, DistillTemperature = 3 } },
            Path.Combine(_runs, "taught"));

        var aloneRows = MetricsFile.Read(Path.Combine(alone.RunFolder, "metrics.csv"));
        MetricsFile.Read(Path.Combine(silent.RunFolder, "metrics.csv")).Select(r => r.TrainLoss).ShouldBe(aloneRows.Select(r => r.TrainLoss));
        MetricsFile.Read(Path.Combine(taught.RunFolder, "metrics.csv")).Select(r => r.TrainLoss).ShouldNotBe(aloneRows.Select(r => r.TrainLoss));
        string log = File.ReadAllText(Path.Combine(taught.RunFolder, "train.log"));
        log.ShouldContain($"distilling from {teacher} (micronet), weight 0.7, temperature 3");
        log.ShouldContain("the teacher's forward passes took");
        TrainingOptions.Load(Path.Combine(taught.RunFolder, "config.yaml")).Distillation.DistillFrom.ShouldBe(teacher);
    }

    [Fact]
    public void A_teacher_trained_on_other_preprocessing_is_refused_by_the_field_that_differs()
    {
        string teacher = Path.Combine(_runs, "teacher-48");
        Trainer.Train(phantom.Tiny(epochs: 1).WithPreprocessing(p => p with { Size = 48 }), teacher);

        var error = Should.Throw<GreenSegException>(() =>
            Trainer.Train(phantom.Tiny(epochs: 1) with { Distillation = new() { DistillFrom = teacher } }, Path.Combine(_runs, "student")));
        error.Message.ShouldContain("distill-from");
        error.Message.ShouldContain("size");
    }

    [Theory]
    [InlineData("distill-weight: 1.5", "distill-weight must lie in [0, 1]")]
    [InlineData("distill-temperature: 0", "distill-temperature must be a finite number > 0")]
    public void Bad_distillation_settings_name_their_key(string line, string message)
    {
        var options = TrainingOptions.Parse($"data: d\ndistillation:\n  {line}\n", "test.yaml");
        Should.Throw<GreenSegException>(() => options.Validate()).Message.ShouldStartWith(message);
    }
}
