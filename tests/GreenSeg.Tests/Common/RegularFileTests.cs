using GreenSeg.Models;
using System.Diagnostics;
using GreenSeg.Common;
using GreenSeg.Imaging;
using GreenSeg.Training;

namespace GreenSeg.Tests.Common;

/// <summary>A FIFO named like an input would block a reader forever: every reader refuses it at once.</summary>
public sealed class RegularFileTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-fifo-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Fifo(string name)
    {
        string path = Path.Combine(_root, name);
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { RedirectStandardError = true })!;
        mkfifo.WaitForExit();
        mkfifo.ExitCode.ShouldBe(0);
        return path;
    }

    /// <summary>Runs a read that must fail fast; a hang fails the test instead of the suite.</summary>
    private static InvalidInputException Refused(Action read)
    {
        var task = Task.Run(() => Should.Throw<InvalidInputException>(read));
        task.Wait(TimeSpan.FromSeconds(20)).ShouldBeTrue("the reader blocked on a FIFO");
        return task.Result;
    }

    [Fact]
    public void A_fifo_named_like_a_stack_a_model_or_a_config_is_refused_by_name()
    {
        if (!OperatingSystem.IsLinux()) return;
        string stack = Fifo("stack.nii.gz");
        var error = Refused(() => NiftiImage.Read(stack));
        error.Path.ShouldBe(stack);
        error.Problem.ShouldContain("FIFO");

        string model = Path.Combine(_root, "model");
        Directory.CreateDirectory(model);
        new CheckpointManifest { Model = "micronet", Spacing = 1, Size = 32 }.Save(model);
        string weights = Path.Combine(model, CheckpointManifest.WeightsFileName);
        File.Delete(weights);
        Fifo(Path.Combine("model", CheckpointManifest.WeightsFileName));
        Refused(() => CheckpointManifest.Locate(model)).Path.ShouldBe(weights);

        string config = Fifo("config.yaml");
        Refused(() => TrainingOptions.Load(config)).Path.ShouldBe(config);
    }

    [Fact]
    public void Regular_files_and_links_to_them_pass()
    {
        string file = Path.Combine(_root, "a.txt");
        File.WriteAllText(file, "x");
        string link = Path.Combine(_root, "link.txt");
        File.CreateSymbolicLink(link, file);

        RegularFile.Require(file);
        RegularFile.Require(link);
        RegularFile.Require(Path.Combine(_root, "missing.txt"));
    }
}
