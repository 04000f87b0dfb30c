using GreenSeg.Common;
using GreenSeg.Compression;
using GreenSeg.Inference;
using GreenSeg.Studies;
using GreenSeg.Studies.Reporting;
using GreenSeg.Training;

namespace GreenSeg.Tests.Studies;

/// <summary>Derived runs (from:, compress:, inference:), a distill-from naming a study run, deployment measurement, and the compression preset.</summary>
public class CompressionStudyDefinitionTests
{
    private static StudyDefinition Parse(string runs) => StudyDefinitionParser.Parse("name: c\n" + runs, "c.yaml", "c");

    private static void Refused(string runs, params string[] phrases)
    {
        var error = Should.Throw<InvalidInputException>(() => Parse(runs));
        foreach (string phrase in phrases) error.Message.ShouldContain(phrase);
    }

    [Fact]
    public void Reads_derived_runs_their_compression_and_inference()
    {
        var definition = Parse("""
            deployment: { timing-size: 64, timing-slices: 8, timing-stacks: 2, calibration-slices: 16 }
            runs:
              - name: pruned
                from: base
                compress: { method: l1-channels, sparsity: 0.25, iterations: 2, finetune-epochs: 3 }
              - name: base
                inference: { precision: fp32, fold-bn: false }
              - name: int8
                from: pruned
                inference: { engine: onnx, precision: int8 }
              - name: student
                set: { model-width: 4, distill-from: base }
            """);
        definition.Deployment.ShouldBe(new StudyDeployment { TimingSize = 64, TimingSlices = 8, TimingStacks = 2, CalibrationSlices = 16 });
        var pruned = definition.Runs[0];
        pruned.From.ShouldBe("base");
        pruned.Compress.ShouldBe(new StudyCompression(PruningMethod.L1Channels, 0.25, 2, 3));
        pruned.Inference.ShouldBe(StudyInference.Default);
        definition.Runs[1].Inference.ShouldBe(new StudyInference(InferenceEngine.Torch, "fp32", FoldBatchNorm: false));
        definition.Runs[2].Inference.ShouldBe(new StudyInference(InferenceEngine.Onnx, "int8"));
        StudyDefinitionParser.Dependencies(definition.Runs[3], definition.Runs).ShouldBe(["base"]);

        // Parents run first; a derived run holds the recipe of the trained run its model descends from.
        var plan = StudyPlanner.Expand(definition, "/data");
        plan.Runs.Select(r => r.Name).ShouldBe(["base", "pruned", "int8", "student"]);
        plan["pruned"].Options.ShouldBe(plan["base"].Options);
        plan["int8"].Options.ShouldBe(plan["base"].Options);
        plan["int8"].Derivation.ShouldBe("from pruned; onnx int8");
        plan["pruned"].Derivation.ShouldBe("from base: l1-channels 25% in 2 iterations, 3 fine-tuning epochs each");
        plan["student"].Teacher.ShouldBe("base");
        plan["student"].Derivation.ShouldBe("distilled from base");
        plan["student"].ChangesText.ShouldBe("model-width: 4, distill-from: base");
        plan["base"].ChangesText.ShouldBe("torch fp32, BatchNorm unfolded");
        StudyInference.Default.ToString().ShouldBe("torch auto, BatchNorm folded");
        plan["student"].Options.Distillation.DistillFrom.ShouldBe("base");
        plan["student"].Options.ModelWidth.ShouldBe(4);
        plan.Deployment.ShouldBe(definition.Deployment);
    }

    [Fact]
    public void A_study_without_derived_runs_or_deployment_measures_nothing_more()
    {
        Parse("runs:\n  - name: a\n").MeasuredDeployment.ShouldBeNull();
        Parse("runs:\n  - name: a\n  - name: b\n    from: a\n    inference: { engine: onnx }\n").MeasuredDeployment.ShouldBe(new StudyDeployment());
    }

    [Fact]
    public void Refuses_an_unknown_parent_naming_the_key() =>
        Refused("runs:\n  - name: a\n  - name: b\n    from: nope\n    inference: { engine: onnx }\n", "c.yaml", "line 5", "run 'b': from: 'nope' is not a run of this study");

    [Fact]
    public void Refuses_a_cycle_through_from_and_distill_from() =>
        Refused("""
            runs:
              - name: a
                set: { distill-from: b }
              - name: b
                from: a
                compress: { method: magnitude, sparsity: 0.5 }
            """, "'a' -> 'b' -> 'a'", "cycle");

    [Fact]
    public void Refuses_a_run_derived_from_itself() =>
        Refused("runs:\n  - name: a\n    from: a\n    inference: { engine: onnx }\n", "'a' -> 'a'", "cycle");

    [Theory]
    [InlineData("{ method: prune-all, sparsity: 0.5 }", "compress.method 'prune-all'", "magnitude, l1-channels")]
    [InlineData("{ sparsity: 0.5 }", "compress needs method:")]
    [InlineData("{ method: magnitude }", "compress needs sparsity:")]
    [InlineData("{ method: magnitude, sparsity: 1.5 }", "compress.sparsity must lie in (0, 1), got 1.5")]
    [InlineData("{ method: magnitude, sparsity: 0 }", "compress.sparsity must lie in (0, 1)")]
    [InlineData("{ method: magnitude, sparsity: half }", "compress.sparsity must be a number")]
    [InlineData("{ method: magnitude, sparsity: 0.5, iterations: 0 }", "compress.iterations must be at least 1")]
    [InlineData("{ method: magnitude, sparsity: 0.5, iterations: 2 }", "compress.iterations 2 needs fine-tuning")]
    [InlineData("{ method: magnitude, sparsity: 0.5, finetune-epochs: -1 }", "compress.finetune-epochs must be at least 0")]
    [InlineData("{ method: magnitude, sparsity: 0.5, rate: 2 }", "rate")]
    public void Refuses_a_bad_compression_naming_the_key(string compress, params string[] phrases) =>
        Refused($"runs:\n  - name: a\n  - name: b\n    from: a\n    compress: {compress}\n", ["run 'b'", .. phrases]);

    [Theory]
    [InlineData("{ engine: tensorrt }", "inference.engine 'tensorrt'")]
    [InlineData("{ engine: onnx, precision: bf16-pure }", "inference.precision 'bf16-pure' on the onnx engine", "fp32, int8")]
    [InlineData("{ precision: int4 }", "inference.precision 'int4' on the torch engine")]
    [InlineData("{ engine: onnx, fold-bn: false }", "inference.fold-bn", "always folds")]
    [InlineData("{ fold-bn: maybe }", "inference.fold-bn must be true or false")]
    public void Refuses_a_bad_inference_naming_the_key(string inference, params string[] phrases) =>
        Refused($"runs:\n  - name: a\n  - name: b\n    from: a\n    inference: {inference}\n", ["run 'b'", .. phrases]);

    [Fact]
    public void Refuses_derived_runs_that_would_be_ambiguous()
    {
        Refused("runs:\n  - name: a\n  - name: b\n    compress: { method: magnitude, sparsity: 0.5 }\n", "run 'b': compress: needs from:");
        Refused("runs:\n  - name: a\n  - name: b\n    from: a\n", "run 'b': from: needs compress:");
        Refused("runs:\n  - name: a\n  - name: b\n    from: a\n    set: { seed: 2 }\n    inference: { engine: onnx }\n", "run 'b': set: cannot be given with from:");
        Refused("runs:\n  - name: a\n  - name: b\n    from: a\n    inference: { engine: onnx }\nmatrix:\n  seed: [1, 2]\n", "run 'b'", "matrix");
        Refused("deployment: { timing-stacks: 0 }\nruns:\n  - name: a\n", "deployment.timing-stacks must be at least 1");
    }

    [Fact]
    public void Refuses_channel_pruning_of_a_network_it_cannot_prune_before_anything_trains()
    {
        var definition = Parse("runs:\n  - name: a\n    set: { model: enet }\n  - name: b\n    from: a\n    compress: { method: l1-channels, sparsity: 0.5 }\n");
        var error = Should.Throw<InvalidInputException>(() => StudyPlanner.Expand(definition, "/data"));
        error.Message.ShouldContain("run 'b'");
        error.Message.ShouldContain("compress.method l1-channels: enet:");
    }

    [Fact]
    public void The_compression_preset_trains_two_unets_and_derives_every_variant()
    {
        var plan = StudyPlanner.Expand(StudyPresets.Load("compression"), "/data/e2mip");
        plan.Definition.Description.ShouldContain("../shared/data/e2mip-fetal");
        plan.Deployment!.StackText.ShouldBe("256x256x40");
        plan.BaselineRun.ShouldBe("unet16");
        var defaults = new TrainingOptions();
        var unet16 = plan["unet16"].Options;
        (unet16.Model, unet16.ModelWidth, unet16.Preprocessing.Size, unet16.Preprocessing.Spacing).ShouldBe((defaults.Model, defaults.ModelWidth, defaults.Preprocessing.Size, defaults.Preprocessing.Spacing));
        plan["unet32"].Options.ModelWidth.ShouldBe(32);
        foreach (string model in new[] { "unet16", "unet32" })
        {
            var derived = plan.Runs.Where(r => r.From == model).ToList();
            derived.Where(r => r.Compress?.Method == PruningMethod.Magnitude).Select(r => r.Compress!.Sparsity).ShouldBe([0.5, 0.8, 0.9]);
            derived.Where(r => r.Compress?.Method == PruningMethod.L1Channels).Select(r => r.Compress!.Sparsity).ShouldBe([0.25, 0.5]);
            derived.Where(r => r.Compress is null).Select(r => r.Inference).ShouldBe([
                new StudyInference(FoldBatchNorm: false), new StudyInference(InferenceEngine.Onnx, "fp32"), new StudyInference(InferenceEngine.Onnx, "int8")]);
            derived.ShouldAllBe(r => r.Compress == null || r.Compress.FinetuneEpochs > 0);
        }
        plan["unet8-distilled"].Teacher.ShouldBe("unet32");
        plan["unet8-distilled"].Options.ModelWidth.ShouldBe(8);
        plan["unet8"].Options.ModelWidth.ShouldBe(8);
        // Every run after what it depends on.
        var position = plan.Runs.Select((r, i) => (r.Name, i)).ToDictionary(p => p.Name, p => p.i);
        plan.Runs.ShouldAllBe(r => (r.From == null || position[r.From] < position[r.Name]) && (r.Teacher == null || position[r.Teacher] < position[r.Name]));
    }
}

/// <summary>A tiny compression study on the phantom: trained, pruned, exported and distilled runs, measured, reported and resumed.</summary>
public sealed class CompressionStudyRunnerTests(TinyPhantomFixture fixture) : IClassFixture<TinyPhantomFixture>
{
    private StudyPlan Plan() => StudyPlanner.Expand(StudyDefinitionParser.Parse("""
        name: tiny-compression
        base: default
        split: { seed: 1, validation-fraction: 0.34 }
        budget: { epochs: 1 }
        set: { size: 32, spacing: 8, model-width: 8, threads: 1, learning-rate: 1e-3 }
        deployment: { timing-size: 32, timing-slices: 4, timing-stacks: 1, calibration-slices: 4 }
        runs:
          - name: base
          - name: magnitude-50
            from: base
            compress: { method: magnitude, sparsity: 0.5, finetune-epochs: 1 }
          - name: l1-50
            from: base
            compress: { method: l1-channels, sparsity: 0.5 }
          - name: onnx-int8
            from: base
            inference: { engine: onnx, precision: int8 }
          - name: l1-50-magnitude-50
            from: l1-50
            compress: { method: magnitude, sparsity: 0.5, finetune-epochs: 1 }
          - name: student
            set: { model-width: 4, distill-from: base }
        """, "tiny.yaml", "tiny-compression"), fixture.Data);

    /// <summary>Cancels the study once the given number of runs have ended.</summary>
    private sealed class Stopper(CancellationTokenSource cancel, int afterRuns = int.MaxValue) : IStudyObserver
    {
        private int _ended;
        public List<string> Skipped { get; } = [];
        public ITrainingObserver Training => SilentObserver.Instance;
        public void RunStarting(PlannedRun run, int index, int count, bool resuming) { }
        public void RunSkipped(StoredRun run, int index, int count) => Skipped.Add(run.Name);

        public void RunEnded(StoredRun run, int index, int count)
        {
            if (++_ended >= afterRuns) cancel.Cancel();
        }
    }

    private static string ErrorsOf(string folder)
    {
        using var store = StudyStore.Open(folder, readOnly: true);
        return string.Join("; ", store.Runs().Where(r => r.Error is not null).Select(r => $"{r.Name}: {r.Error}"));
    }

    [Fact]
    public void Derived_runs_are_pruned_exported_and_measured_and_a_rerun_redoes_nothing()
    {
        var plan = Plan();
        string folder = Path.Combine(fixture.Root, "compression");
        using (var cancel = new CancellationTokenSource())
        {
            var first = StudyRunner.Run(plan, folder, new Stopper(cancel, afterRuns: 2), cancellationToken: cancel.Token);
            first.Runs.Select(r => (r.Name, r.Action, r.Status)).ShouldBe([
                ("base", RunAction.Trained, RunStatus.Finished), ("magnitude-50", RunAction.Derived, RunStatus.Finished)], ErrorsOf(folder));
        }

        var again = new Stopper(new CancellationTokenSource());
        var second = StudyRunner.Run(plan, folder, again);
        again.Skipped.ShouldBe(["base", "magnitude-50"]);
        second.Runs.Select(r => (r.Name, r.Action, r.Status)).ShouldBe([
            ("base", RunAction.Skipped, RunStatus.Finished), ("magnitude-50", RunAction.Skipped, RunStatus.Finished),
            ("l1-50", RunAction.Derived, RunStatus.Finished), ("onnx-int8", RunAction.Derived, RunStatus.Finished),
            ("l1-50-magnitude-50", RunAction.Derived, RunStatus.Finished), ("student", RunAction.Trained, RunStatus.Finished)], ErrorsOf(folder));
        second.Complete(plan).ShouldBeTrue();

        var results = StudyResults.Load(folder);
        var run = results.Runs.ToDictionary(r => r.Name);
        results.Runs.ShouldAllBe(r => r.Deployment != null && r.Deployment.SecondsPerStack > 0 && r.Deployment.JoulesPerStack > 0
            && r.Deployment.FileMegabytes > 0 && r.Deployment.DiceMean >= 0 && r.Deployment.DiceMean <= 1 && r.Deployment.Parameters > 0);
        var base_ = run["base"].Deployment!;
        base_.Sparsity.ShouldBeLessThan(0.01);
        base_.FileMegabytes.ShouldBe(new FileInfo(Path.Combine(folder, "runs", "base", "checkpoints", "best", "model.pt")).Length / 1e6);

        // Magnitude pruning: half the convolution weights are zero, through fine-tuning; same parameter count.
        var magnitude = run["magnitude-50"].Deployment!;
        magnitude.Sparsity.ShouldBeInRange(0.49, 0.52);
        magnitude.Parameters.ShouldBe(base_.Parameters);
        // l1-channels: fewer parameters and MACs, weights dense.
        var l1 = run["l1-50"].Deployment!;
        l1.Parameters.ShouldBeLessThan(base_.Parameters);
        l1.GigaMacs.ShouldBeLessThan(base_.GigaMacs);
        l1.Sparsity.ShouldBeLessThan(0.01);
        // Pruned twice: the narrow model fine-tuned at its own widths, half its convolution weights zero.
        var twice = run["l1-50-magnitude-50"].Deployment!;
        twice.Parameters.ShouldBe(l1.Parameters);
        twice.Sparsity.ShouldBeInRange(0.49, 0.52);
        run["l1-50-magnitude-50"].CumulativeKilojoules!.Value.ShouldBe(run["base"].TotalKilojoules!.Value + run["l1-50-magnitude-50"].TotalKilojoules!.Value, 1e-9);
        // ONNX int8: the exported file is what is measured; the parent's weights.
        string onnx = Path.Combine(folder, "runs", "onnx-int8", DeploymentMeter.OnnxFileName);
        run["onnx-int8"].Deployment!.FileMegabytes.ShouldBe(new FileInfo(onnx).Length / 1e6);
        run["onnx-int8"].Deployment!.Parameters.ShouldBe(base_.Parameters);

        // Training energy: a derived run's own is its fine-tuning; the cumulative adds its parent's (a student's, its teacher's).
        double baseKj = run["base"].TotalKilojoules!.Value;
        baseKj.ShouldBeGreaterThan(0);
        run["base"].CumulativeKilojoules!.Value.ShouldBe(baseKj, 1e-9);
        run["magnitude-50"].TotalKilojoules!.Value.ShouldBeGreaterThan(0);
        run["magnitude-50"].CumulativeKilojoules!.Value.ShouldBe(baseKj + run["magnitude-50"].TotalKilojoules!.Value, 1e-9);
        run["l1-50"].TotalKilojoules.ShouldBe(0);
        run["onnx-int8"].TotalKilojoules.ShouldBe(0);
        run["onnx-int8"].CumulativeKilojoules!.Value.ShouldBe(baseKj, 1e-9);
        run["student"].CumulativeKilojoules!.Value.ShouldBe(baseKj + run["student"].TotalKilojoules!.Value, 1e-9);
        File.ReadAllText(Path.Combine(folder, "runs", "student", "config.yaml")).ShouldContain(Path.Combine(folder, "runs", "base"));

        var files = StudyReport.Write(results, Path.Combine(fixture.Root, "compression-report"));
        string markdown = File.ReadAllText(files.Markdown);
        markdown.ShouldContain("## Compression and deployment");
        markdown.ShouldContain("| file MB | sparsity | deployed Dice | s per 32x32x4 stack | J per 32x32x4 stack | training kJ | cumulative kJ |");
        markdown.ShouldContain("| magnitude-50 | base | from base: magnitude 50%, 1 fine-tuning epoch | finished |");
        File.ReadAllText(files.Html).ShouldContain("<th>cumulative kJ</th>");

        var third = StudyRunner.Run(plan, folder, new Stopper(new CancellationTokenSource()));
        third.Runs.ShouldAllBe(r => r.Action == RunAction.Skipped && r.Status == RunStatus.Finished);
    }
}

public sealed class CompressionStudyFailureTests(TinyPhantomFixture fixture) : IClassFixture<TinyPhantomFixture>
{
    [Fact]
    public void A_run_whose_parent_failed_fails_naming_it()
    {
        var plan = StudyPlanner.Expand(StudyDefinitionParser.Parse("""
            name: failing
            split: { seed: 1, validation-fraction: 0.34 }
            budget: { epochs: 1 }
            set: { size: 32, spacing: 8, model-width: 4, threads: 1, distill-from: /no/such/teacher }
            runs:
              - name: parent
              - name: child
                from: parent
                inference: { engine: onnx }
            """, "failing.yaml", "failing"), fixture.Data);
        string folder = Path.Combine(fixture.Root, "failing");
        var outcome = StudyRunner.Run(plan, folder);
        outcome.Runs.Select(r => (r.Name, r.Status)).ShouldBe([("parent", RunStatus.Failed), ("child", RunStatus.Failed)]);
        using var store = StudyStore.Open(folder, readOnly: true);
        store.Get("child").Error.ShouldBe("needs run 'parent', which failed");
        store.Get("child").Deployment.ShouldBeNull();
    }

    [Fact]
    public void Int8_calibration_takes_only_the_given_stacks()
    {
        var dataset = GreenSeg.Data.DatasetReader.Open(fixture.Data);
        var stack = dataset.TrainingStacks[1];
        var manifest = new GreenSeg.Models.CheckpointManifest { Model = "unet", Size = 32, Spacing = 8 };
        var options = new CalibrationOptions { Data = fixture.Data, Slices = 100_000 };
        OnnxCalibration.Slices(manifest, options).Count.ShouldBe(dataset.TrainingStacks.Sum(s => s.Slices.Count));
        OnnxCalibration.Slices(manifest, options with { Stacks = [stack.Id] }).Count.ShouldBe(stack.Slices.Count);
    }
}

/// <summary>study.db schema 2 (derived runs, deployment) against a database an earlier GreenSeg wrote (schema 1).</summary>
public sealed class StudyStoreSchemaTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "greenseg-schema-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    /// <summary>The tables as schema 1 created them, with one finished run.</summary>
    private void WriteSchemaOne(string yaml)
    {
        Directory.CreateDirectory(_folder);
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_folder, StudyStore.FileName)}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE runs (
                name TEXT PRIMARY KEY, position INTEGER NOT NULL, options_yaml TEXT NOT NULL, changes TEXT NOT NULL,
                status TEXT NOT NULL, run_folder TEXT, model TEXT NOT NULL, params INTEGER NOT NULL, gmacs REAL NOT NULL,
                started_utc TEXT, finished_utc TEXT, epochs_run INTEGER, best_epoch INTEGER, best_dice REAL,
                stop_reason TEXT, learning_rate REAL, batch_size INTEGER, duration_s REAL,
                epochs_energy_kj REAL, total_energy_kj REAL, energy_estimated INTEGER NOT NULL DEFAULT 0, co2_g REAL, error TEXT);
            CREATE TABLE epochs (
                run TEXT NOT NULL REFERENCES runs(name), epoch INTEGER NOT NULL,
                train_loss REAL, val_loss REAL, val_dice REAL, val_dice_sd REAL, lr REAL, batch_size INTEGER,
                epoch_s REAL, train_s REAL, data_wait_s REAL, slices_per_s REAL,
                energy_j REAL, cpu_j REAL, ram_j REAL, gpu_j REAL, energy_origin TEXT, co2_g REAL, cumulative_energy_kj REAL, best INTEGER,
                PRIMARY KEY (run, epoch));
            INSERT INTO study VALUES ('schema_version', '1');
            INSERT INTO runs (name, position, options_yaml, changes, status, model, params, gmacs, total_energy_kj)
            VALUES ('old', 0, $yaml, '', 'Finished', 'unet', 1000, 0.5, 2.5);
            """;
        command.Parameters.AddWithValue("$yaml", yaml);
        command.ExecuteNonQuery();
    }

    [Fact]
    public void A_schema_one_database_reads_and_is_upgraded_when_written()
    {
        var options = new TrainingOptions { Data = "/data" };
        WriteSchemaOne(options.ToYaml());
        using (var store = StudyStore.Open(_folder, readOnly: true))
        {
            var old = store.Get("old");
            (old.Status, old.TotalEnergyKj, old.Parent, old.Derivation, old.Deployment, old.CumulativeEnergyKj).ShouldBe((RunStatus.Finished, 2.5, null, "", null, null));
        }
        using (var store = StudyStore.Open(_folder))
        {
            store.GetMeta("schema_version").ShouldBe("2");
            store.Register(new PlannedRun("old", options, []), 0, 1000, 0.5);
            store.Register(new PlannedRun("int8", options, []) { From = "old", Inference = new StudyInference(InferenceEngine.Onnx, "int8") }, 1, 1000, 0.5);
            var measured = new DeploymentMeasurement(1.5, 0.25, 900, 0.4, 0.8, 0.1, 2.0, 30, EnergyEstimated: true);
            store.RecordDeployment("int8", 2.5, measured);
            var int8 = store.Get("int8");
            (int8.Parent, int8.Derivation, int8.CumulativeEnergyKj, int8.Deployment).ShouldBe(("old", "from old; onnx int8", 2.5, measured));
            (int8.Parameters, int8.GigaMacs).ShouldBe((900L, 0.4));
            // The same name planned as something else is refused.
            Should.Throw<GreenSegException>(() => store.Register(new PlannedRun("int8", options, []) { From = "old", Inference = new StudyInference(InferenceEngine.Onnx, "fp32") }, 1, 1000, 0.5))
                .Message.ShouldContain("was planned as 'from old; onnx int8', now 'from old; onnx fp32'");
        }
    }
}
