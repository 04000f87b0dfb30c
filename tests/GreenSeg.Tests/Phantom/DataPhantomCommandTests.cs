using GreenSeg.Cli.Commands;
using GreenSeg.Common;
using Spectre.Console.Cli;

namespace GreenSeg.Tests.Phantom;

public sealed class DataPhantomCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "greenseg-phantom-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Writes_the_requested_stacks_and_previews()
    {
        Run(_root, "--stacks", "1", "--test-stacks", "1", "--seed", "5", "--preview").ShouldBe(0);

        Directory.GetFiles(Path.Combine(_root, "train_slice", "images")).ShouldAllBe(f => Path.GetFileName(f).StartsWith("T2W_vol0000_slice"));
        Directory.GetFiles(Path.Combine(_root, "train_slice", "masks")).Length.ShouldBe(Directory.GetFiles(Path.Combine(_root, "train_slice", "images")).Length);
        File.Exists(Path.Combine(_root, "test_volume", "images", "T2W_vol0001.nii.gz")).ShouldBeTrue();
        File.Exists(Path.Combine(_root, "test_volume", "masks", "T2W_vol0001_mask.nii.gz")).ShouldBeTrue();
        File.Exists(Path.Combine(_root, "preview", "T2W_vol0000.png")).ShouldBeTrue();
    }

    [Fact]
    public void Refuses_a_non_empty_folder_unless_told_to_overwrite_and_then_replaces_old_stacks()
    {
        Run(_root, "--stacks", "2", "--test-stacks", "0").ShouldBe(0);
        Should.Throw<InvalidInputException>(() => Run(_root, "--stacks", "1", "--test-stacks", "0")).Message.ShouldContain("--overwrite");

        Run(_root, "--stacks", "1", "--test-stacks", "0", "--overwrite").ShouldBe(0);
        Directory.GetFiles(Path.Combine(_root, "train_slice", "images")).ShouldAllBe(f => Path.GetFileName(f).StartsWith("T2W_vol0000_"));
    }

    private static int Run(params string[] args)
    {
        var app = new CommandApp<DataPhantomCommand>();
        app.Configure(c => c.PropagateExceptions());
        return app.Run(args);
    }
}
