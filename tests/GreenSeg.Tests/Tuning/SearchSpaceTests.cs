using System.Globalization;
using GreenSeg.Common;
using GreenSeg.Training;
using GreenSeg.Tuning;

namespace GreenSeg.Tests.Tuning;

public class SearchSpaceTests
{
    private const string Example = """
        base: {model: unet, cache: memory}
        search:
          learning-rate: {log-uniform: [1e-4, 3e-3]}
          model-width: {choice: [8, 16, 32]}
          optimizer: {choice: [adam, novograd]}
          size: {choice: [96, 128]}
        rungs: {min-epochs: 2, max-epochs: 16, eta: 2}
        """;

    private static SearchSpace Parse(string yaml) => SearchSpaceParser.Parse(yaml, "space.yaml", "space");

    [Fact]
    public void The_example_space_reads_with_its_rungs_and_recipe()
    {
        var space = Parse(Example);

        space.Name.ShouldBe("space");
        space.Parameters.Select(p => p.Key).ShouldBe(["learning-rate", "model-width", "optimizer", "size"]);
        space.Parameters[0].Distribution.ShouldBe(new ParameterDistribution { Kind = DistributionKind.LogUniform, Low = 1e-4, High = 3e-3 });
        space.Rungs.Resources.ShouldBe([2, 4, 8, 16]);
        space.Rungs.PauseAt(1).ShouldBe(TrainingPause.Epochs(4));

        var recipe = space.Recipe("data", space.Sample(42, 1, 0), [new OptionSetting("threads", "2")]);
        recipe.Model.ShouldBe("unet");
        recipe.Loading.Cache.ShouldBe(GreenSeg.Data.CacheMode.Memory);
        recipe.Schedule.Epochs.ShouldBe(16, "a trial is the full max-epochs run, paused at the rungs");
        recipe.SplitSeed.ShouldBe(recipe.Seed, "every trial shares the base recipe's split");
        recipe.Compute.Threads.ShouldBe(2);
    }

    [Fact]
    public void Base_takes_sections_and_dotted_paths_and_rungs_may_be_in_kilojoules()
    {
        var space = Parse("""
            name: sections
            base:
              model: micronet
              optimisation: {learning-rate: 3e-3}
              loading.augmentation.rotation-probability: 0.5
              epochs: 12
            search:
              fire-net.fires-per-stage: {int: [1, 3]}
              fire-net.squeeze-ratio: [0.125, 0.25]
            rungs: {min-kj: 1.5, max-kj: 20, eta: 3}
            """);

        space.Name.ShouldBe("sections");
        space.Rungs.Unit.ShouldBe(RungUnit.Kilojoules);
        space.Rungs.Resources.ShouldBe([1.5, 4.5, 13.5, 20]);
        space.Rungs.PauseAt(3).ShouldBe(TrainingPause.Kilojoules(20));
        var recipe = space.Recipe("data", [new OptionSetting("fire-net.fires-per-stage", "3")], []);
        recipe.Optimisation.LearningRate.ShouldBe("3e-3");
        recipe.Loading.Augmentation.RotationProbability.ShouldBe(0.5);
        recipe.Schedule.Epochs.ShouldBe(12, "with rungs in kJ the base recipe's epochs are the schedule's horizon");
        recipe.FireNet.FiresPerStage.ShouldBe(3);
    }

    [Fact]
    public void A_seeded_draw_repeats_and_stays_within_its_distribution()
    {
        var space = Parse("""
            search:
              learning-rate: {log-uniform: [1e-4, 3e-3]}
              weight-decay: {uniform: [0, 0.1]}
              fire-net.stages: {int: [2, 4]}
              optimizer: [adam, novograd, lion]
            base: {model: micronet}
            rungs: {min-epochs: 1, max-epochs: 3}
            """);

        var first = Enumerable.Range(1, 40).Select(t => space.Sample(7, t, 0)).ToList();
        var again = Enumerable.Range(1, 40).Select(t => space.Sample(7, t, 0)).ToList();
        again.ShouldBe(first);
        Enumerable.Range(1, 40).Select(t => space.Sample(8, t, 0)).ShouldNotBe(first);
        space.Sample(7, 1, 1).ShouldNotBe(first[0], "another draw of the same trial draws anew");
        var rates = first.Select(s => double.Parse(s[0].Value!, CultureInfo.InvariantCulture)).ToList();
        var decays = first.Select(s => double.Parse(s[1].Value!, CultureInfo.InvariantCulture)).ToList();
        rates.ShouldAllBe(r => r >= 1e-4 && r <= 3e-3);
        decays.ShouldAllBe(d => d >= 0 && d <= 0.1);
        first.Select(s => s[2].Value).Distinct().Order().ToList().ShouldBe(["2", "3", "4"], customMessage: "int ranges include both bounds");
        first.Select(s => s[3].Value).Distinct().Order().ToList().ShouldBe(["adam", "lion", "novograd"]);
        // Log-uniform spreads over the decades: as many draws below the geometric middle as above it, roughly.
        rates.Count(r => r < Math.Sqrt(1e-4 * 3e-3)).ShouldBeInRange(10, 30);
    }

    [Theory]
    [InlineData("search: {learning-rat: {log-uniform: [1e-4, 1e-2]}}", "learning-rat", "unknown training option")]
    [InlineData("search: {model-width: {choice: []}}", "model-width", "empty")]
    [InlineData("search: {model-width: []}", "model-width", "empty")]
    [InlineData("search: {weight-decay: {uniform: [0.1, 0.1]}}", "weight-decay", "empty")]
    [InlineData("search: {weight-decay: {uniform: [0.2, 0.1]}}", "weight-decay", "low 0.2 > high 0.1")]
    [InlineData("search: {learning-rate: {log-uniform: [0, 1e-2]}}", "learning-rate", "positive bounds")]
    [InlineData("search: {learning-rate: {log-uniform: [-1, 1e-2]}}", "learning-rate", "positive bounds")]
    [InlineData("search: {model-width: {choice: [8, wide]}}", "model-width", "'wide' is not accepted")]
    [InlineData("search: {prefetch: {uniform: [0, 3]}}", "prefetch", "'1.5' is not accepted")]
    [InlineData("search: {fire-net.stages: {int: [1.5, 4]}}", "fire-net.stages", "whole-number")]
    [InlineData("search: {optimizer: {choice: [adam, adagrad]}}", "optimizer", "adagrad")]
    [InlineData("search: {learning-rate: {normal: [0, 1]}}", "learning-rate", "unknown distribution 'normal'")]
    [InlineData("search: {learning-rate: {uniform: [1e-4]}}", "learning-rate", "[low, high]")]
    [InlineData("search: {data: [a, b]}", "data", "cannot be searched")]
    [InlineData("search: {epochs: {int: [2, 5]}}", "epochs", "the rungs set how long")]
    [InlineData("search: {learning-rate: [1e-3], optimisation.learning-rate: [1e-2]}", "optimisation.learning-rate", "the same option")]
    [InlineData("search: {fire-net.stages: {int: [2, 4]}}\nbase: {model: unet}", "fire-net.stages", "'unet' has no fire modules")]
    [InlineData("search: {fire-net.stages: {int: [2, 4]}, model: [micronet, unet]}", "fire-net.stages", "'unet' has no fire modules")]
    [InlineData("search: {fire-net.stages: [3]}\nbase: {model: att-squeeze-unet}", "fire-net.stages", "published stages")]
    [InlineData("search: {fire-net.squeeze-ratio: {uniform: [0.5, 2]}}\nbase: {model: micronet}", "fire-net.squeeze-ratio", "must lie in (0, 1]")]
    [InlineData("search: {size: [64]}\nbase: {epochs: 25}", "epochs (25)", "disagree")]
    [InlineData("search: {fire-net.stages: {int: [3, 5]}, size: [32, 80]}\nbase: {model: micronet}", "fire-net.stages", "size must be a multiple of 32, got 80")]
    [InlineData("search: {size: [64]}\nbase: {data: elsewhere}", "data", "cannot be set in base")]
    [InlineData("search: {size: [64]}\nbase: {learning-rat: 1}", "learning-rat", "unknown training option")]
    public void A_bad_space_is_an_error_naming_the_file_the_line_and_the_key(string search, string key, string problem)
    {
        string yaml = $"{search}\nrungs: {{min-epochs: 2, max-epochs: 8, eta: 2}}\n";
        var error = Should.Throw<InvalidInputException>(() => Parse(yaml));

        error.Path.ShouldBe("space.yaml");
        error.Problem.ShouldContain(key);
        error.Problem.ShouldContain(problem);
        error.Problem.ShouldMatch(@"^line \d+: ");
    }

    [Theory]
    [InlineData("{min-epochs: 2}", "both min-epochs and max-epochs")]
    [InlineData("{min-epochs: 8, max-epochs: 2}", "min-epochs (8) > max-epochs (2)")]
    [InlineData("{min-epochs: 0, max-epochs: 2}", "must be positive")]
    [InlineData("{min-epochs: 1.5, max-epochs: 4}", "whole numbers")]
    [InlineData("{min-epochs: 1, max-kj: 4}", "not both")]
    [InlineData("{min-epochs: 1, max-epochs: 4, eta: 1}", "rungs.eta")]
    [InlineData("{min-epochs: 1, max-epochs: 4, speed: 1}", "unknown key 'speed'")]
    [InlineData("{}", "rungs need min-epochs and max-epochs")]
    public void Bad_rungs_are_errors_naming_the_key(string rungs, string problem)
    {
        var error = Should.Throw<InvalidInputException>(() => Parse($"search: {{size: [64]}}\nrungs: {rungs}\n"));

        error.Problem.ShouldContain(problem);
    }

    [Fact]
    public void A_search_needs_its_sections_and_a_missing_file_is_named()
    {
        Should.Throw<InvalidInputException>(() => Parse("rungs: {min-epochs: 1, max-epochs: 2}")).Problem.ShouldContain("no search:");
        Should.Throw<InvalidInputException>(() => Parse("search: {size: [64]}")).Problem.ShouldContain("no rungs:");
        Should.Throw<InvalidInputException>(() => Parse("search: {size: [64]}\nrungs: {min-epochs: 1, max-epochs: 2}\nrung: 3")).Problem.ShouldContain("unknown key 'rung'");
        Should.Throw<InvalidInputException>(() => SearchSpaceParser.Load("/nonexistent/space.yaml")).Problem.ShouldContain("not found");
    }

    [Fact]
    public void The_search_files_the_readme_shows_read()
    {
        string folder = Path.Combine(RealData.RepositoryRoot ?? throw new InvalidOperationException("no repository above the tests"), "docs", "tuning");
        var phantom = SearchSpaceParser.Load(Path.Combine(folder, "phantom.yaml"));
        phantom.Rungs.Resources.ShouldBe([2, 4, 8]);
        var real = SearchSpaceParser.Load(Path.Combine(folder, "e2mip-firenet.yaml"));
        real.Rungs.Resources.ShouldBe([3, 9, 25]);
        real.Recipe("data", [], []).Preprocessing.Size.ShouldBe(128);
    }

    [Fact]
    public void The_rungs_climb_by_eta_up_to_max()
    {
        new RungLadder(RungUnit.Epochs, 1, 27, 3).Resources.ShouldBe([1, 3, 9, 27]);
        new RungLadder(RungUnit.Epochs, 3, 16, 2).Resources.ShouldBe([3, 6, 12, 16]);
        new RungLadder(RungUnit.Epochs, 5, 5, 2).Resources.ShouldBe([5], "min = max: a plain random search");
        new RungLadder(RungUnit.Epochs, 2, 16, 2).TopRung.ShouldBe(3);
    }
}
