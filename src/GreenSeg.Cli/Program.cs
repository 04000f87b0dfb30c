using GreenSeg.Cli;
using GreenSeg.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

// libtorch reads its environment when it loads: GreenSeg's settings go in before anything touches it.
GreenSeg.Common.NativeEnvironment.EnsureApplied();

// Redirected output (logs, CI) has no terminal width: give tables room instead of Spectre's 80 columns.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("greenseg");
    // A mistyped flag (--output for --out) must fail, not be ignored while the job runs with the default.
    config.UseStrictParsing();
    config.SetExceptionHandler((ex, _) => CliErrors.Report(ex));
    config.AddCommand<InfoCommand>("info").WithDescription("Show the runtime: TorchSharp, threads, CPU, devices.");
    config.AddBranch("data", data =>
    {
        data.SetDescription("Generate and inspect datasets.");
        data.AddCommand<DataPhantomCommand>("phantom").WithDescription("Write the synthetic fetal-MRI phantom (T2W, DWI, FMRI stacks with exact brain masks) in the E2MIP layout.");
        data.AddCommand<DataStacksCommand>("stacks").WithDescription("Reassemble training stacks stored as slices into 3D stacks and masks (images/, masks/) for viewers, segment and evaluate.");
        data.AddCommand<DataInspectCommand>("inspect").WithDescription("Report stacks, slices, shapes, spacings, types, mask coverage and problems of a dataset.");
    });
    config.AddCommand<TrainCommand>("train").WithDescription("Train a model (green recipe by default; --baseline for the study's baseline).");
    config.AddCommand<SegmentCommand>("segment").WithDescription("Brain masks for NIfTI stacks, slices, folders or globs with a trained model; time and energy per stack.");
    config.AddCommand<E2mipCommand>("e2mip").WithDescription("The E2MIP task-3 contract: train on TRAIN_DIR, predict TEST_DIR, report energy (and Dice with --truth).");
    config.AddCommand<DemoCommand>("demo").WithDescription("The whole chain on a fresh phantom: green training, predictions, evaluation; Dice, time and energy.");
    config.AddCommand<CrossvalCommand>("crossval").WithDescription("Cross-validation by stack (k-fold, leave one sequence or stack out): each fold trains, segments its held-out stacks in 3D as segment does, scores them; resumable.");
    config.AddCommand<StudyCommand>("study").WithDescription("Run a study (preset techniques|architectures|quick, or a YAML file): runs one after another, stored in SQLite, resumable.");
    config.AddCommand<TuneCommand>("tune").WithDescription("Search recipes and fire-module shapes by asynchronous successive halving (ASHA) within an energy budget or a number of trials: stored in SQLite, resumable, every trial's energy on the bill.");
    config.AddCommand<ReportCommand>("report").WithDescription("Write the report of a study, a search (tune folder: trials, promotion ladder, best.yaml, Pareto front, energy saved) or a cross-validation: Markdown and self-contained HTML.");
    config.AddBranch("compress", compress =>
    {
        compress.SetDescription("Make a trained model smaller: pruning.");
        compress.AddCommand<CompressPruneCommand>("prune").WithDescription("Global magnitude pruning of a run's model, optionally in iterations with fine-tuning; the zeros stay zero.");
    });
    config.AddCommand<ExportCommand>("export").WithDescription("A checkpoint for other tools: its weights for PyTorch (.safetensors, or a state dict .pt/.pth for load_state_dict), or the whole model as ONNX (.onnx, opset 17, fp32 or int8).");
    config.AddCommand<EvaluateCommand>("evaluate").WithDescription("Compare predicted masks with reference masks: Dice, IoU, HD95, ASSD, volume.");
    config.AddBranch("models", models =>
    {
        models.SetDescription("The model zoo: architectures, sizes and compute.");
        models.AddCommand<ModelsListCommand>("list").WithDescription("List every model: parameters, GMACs, reference.");
        models.AddCommand<ModelsShowCommand>("show").WithDescription("Show the layer table of one model.");
        models.AddCommand<ModelsImportCommand>("import").WithDescription("PyTorch weights (safetensors or a torch.save state dict) as a GreenSeg checkpoint folder that segment can use.");
        models.AddCommand<ModelsPretrainedCommand>("pretrained").WithDescription("The bundled models (segment's default): network, size, the command and data that trained them, their recipe's cross-validated Dice.");
    });
    config.AddBranch("energy", energy =>
    {
        energy.SetDescription("Energy and carbon accounting.");
        energy.AddCommand<EnergyProbeCommand>("probe").WithDescription("Show what this machine lets us measure, what is estimated, and why.");
    });
    config.AddBranch("bench", bench =>
    {
        bench.SetDescription("Benchmarks that print a table.");
        bench.AddCommand<BenchDistributedCommand>("distributed").WithDescription("One process with N threads against mpiexec -n N ranks of one thread: step time, share in collectives, bytes per step with fp32/bf16/int8 gradients and local SGD, Allreduce bandwidth; a projection to 4-64 ranks.");
        bench.AddCommand<BenchProfileCommand>("profile").WithDescription("Where one training step goes, per kind of layer (3x3, 1x1, transposed convolution, attention gate, BatchNorm, activation, work between layers, loss, optimizer step), forward and backward.");
        bench.AddCommand<BenchEnergyCommand>("energy").WithDescription("Measure the energy monitor's overhead on a fixed CPU workload.");
        bench.AddCommand<BenchInferenceCommand>("inference").WithDescription("Seconds per 256x256x40 stack with `greenseg segment`'s core, model load apart, fp32/NCHW to bf16/channels-last, and ONNX Runtime fp32 and int8.");
        bench.AddCommand<BenchModelsCommand>("models").WithDescription("Forward+backward time per slice: fp32/NCHW vs bf16-compute/channels-last.");
        bench.AddCommand<BenchLoadCommand>("load").WithDescription("Training and inference speed on an idle machine against one kept busy by spinning threads: the slowdown, with libtorch on every core or on the free ones.");
        bench.AddCommand<BenchRecipesCommand>("recipes").WithDescription("Side by side: training slices/s per study recipe, conv GFLOP/s against the matmul peak, data wait per cache mode, inference per stack; --scale study: the study's baseline as it ran against the default recipe, time and energy per epoch.");
    });
});
return app.Run(args);
