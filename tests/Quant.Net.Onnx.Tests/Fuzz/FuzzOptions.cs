using Quant.Net.Cli;

namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>A generated command line with what the generator knows about it.</summary>
/// <param name="Args">The arguments (command first).</param>
/// <param name="Expect">Success is possible (Anything), or an injected fault must be refused (RefuseOrWarn), or only usage faults were injected into valid inputs (Usage).</param>
/// <param name="Outputs">Files (relative to the case folder) a success may create or replace.</param>
/// <param name="ReportFolders">Folders (relative to the case folder) a success may add files under.</param>
/// <param name="Description">The options and the faults injected, for the failure report.</param>
internal sealed record GeneratedLine(List<string> Args, FuzzExpect Expect, List<string> Outputs, List<string> ReportFolders, string Description);

/// <summary>
/// Random option combinations for <c>quantize</c>, <c>analyze</c>, <c>mixed-precision</c> and <c>weight-only</c>, driven by
/// each command's own option table (so a new option is fuzzed without touching this file): valid and invalid values,
/// unknown options, missing values, dropped required options, and outputs that alias the input model, its external
/// data, a calibration file or each other (also through <c>..</c>, <c>.</c> and links), or sit in missing folders or
/// under a file.
/// </summary>
internal static class FuzzOptions
{
    /// <summary>How much of the option table a line uses.</summary>
    public enum Mode
    {
        /// <summary>Only the required options (and one evaluation sample): the inputs decide the result.</summary>
        Bare,

        /// <summary>A few random options, all with valid values.</summary>
        Valid,

        /// <summary>Random options with invalid values, command-line faults and aliasing outputs.</summary>
        Hostile,
    }

    /// <summary>The commands whose options are fuzzed, with their option tables.</summary>
    public static readonly IReadOnlyDictionary<string, CliCommand> Commands = new Dictionary<string, CliCommand>(StringComparer.Ordinal)
    {
        ["quantize"] = QuantizeCommand.Definition,
        ["analyze"] = AnalyzeCommand.Definition,
        ["mixed-precision"] = MixedPrecisionCommand.Definition,
        ["weight-only"] = WeightOnlyCommand.Definition,
    };

    private static readonly string[] OutputOptions = ["--output", "--encodings", "--aimet-model"];

    /// <summary>
    /// A command line for <paramref name="command"/> on the model at <paramref name="model"/> and the calibration folder
    /// <paramref name="calibration"/> (already written under <paramref name="c"/>), as <paramref name="mode"/> says.
    /// </summary>
    public static GeneratedLine Line(CaseFolder c, string command, string model, string? calibration, Mode mode)
    {
        bool hostile = mode == Mode.Hostile;
        var random = c.Random;
        var definition = Commands[command];
        var args = new List<string> { command, model };
        var outputs = new List<string>();
        var notes = new List<string>();
        bool usage = false, refuse = false;
        var chosen = new Dictionary<string, string>(StringComparer.Ordinal);
        string outFolder = c.Folder("out");

        // Required options first (so the line is runnable), then a random subset of the rest.
        if (calibration is not null && command != "weight-only")
        {
            chosen["--calibration"] = calibration;
        }

        if (command is "quantize" or "weight-only")
        {
            chosen["--output"] = Path.Combine(outFolder, "q.onnx");
        }

        if (command is "analyze" or "mixed-precision")
        {
            chosen["--out"] = Path.Combine(outFolder, "report");
        }

        if (command == "quantize" && mode != Mode.Bare && random.Next(4) == 0)
        {
            chosen["--encodings"] = Path.Combine(outFolder, "q.encodings");
        }

        if (mode == Mode.Bare && command != "weight-only")
        {
            chosen["--eval-samples"] = "1";
        }

        foreach (var option in definition.Options)
        {
            if (chosen.ContainsKey(option.Name) || random.NextDouble() > mode switch { Mode.Hostile => 0.3, Mode.Valid => 0.12, _ => -1 })
            {
                continue;
            }

            if (option.IsFlag)
            {
                chosen[option.Name] = "";
                continue;
            }

            var (value, fault) = Value(c, command, option, model, calibration, outFolder, hostile);
            chosen[option.Name] = value;
            usage |= fault == FuzzExpect.Usage;
            refuse |= fault == FuzzExpect.RefuseOrWarn;
            if (fault != FuzzExpect.Anything)
            {
                notes.Add($"{option.Name} {Show(value)}{(option.Name == "--config" && File.Exists(value) ? $" holding {File.ReadAllText(value)}" : "")} ({fault})");
            }
        }

        // Output options: fresh paths, or (hostile) paths that alias inputs, each other, or cannot be written.
        if (hostile)
        {
            foreach (var option in OutputOptions.Where(o => definition.Find(o) is not null))
            {
                if (random.Next(3) != 0)
                {
                    continue;
                }

                var (path, what, refused) = AliasingPath(c, option, model, calibration, chosen, outFolder);
                chosen[option] = path;
                refuse |= refused;
                notes.Add($"{option} = {what}");
            }

            if (definition.Find("--out") is not null && random.Next(3) == 0)
            {
                var (path, what, refused) = ReportFolder(c, model, calibration, outFolder);
                chosen["--out"] = path;
                refuse |= refused;
                notes.Add($"--out = {what}");
            }
        }

        if (chosen.ContainsKey("--aimet-model") && !chosen.ContainsKey("--encodings"))
        {
            usage = true;
            notes.Add("--aimet-model without --encodings (Usage)");
        }

        if (command == "quantize" && !chosen.ContainsKey("--calibration") && !chosen.ContainsKey("--dynamic"))
        {
            usage = true;
            notes.Add("no --calibration for static quantization (Usage)");
        }

        if (command == "weight-only" && chosen.GetValueOrDefault("--method") is "gptq" or "gptq-mse" or "seqmse")
        {
            refuse = true;
            notes.Add("a rounding method that needs token windows, on a model fed float samples");
        }

        // Faults in the command line itself.
        if (hostile && random.Next(5) == 0)
        {
            string required = command is "analyze" or "mixed-precision" ? "--calibration" : "--output";
            if (chosen.Remove(required))
            {
                usage = true;
                notes.Add($"required {required} dropped (Usage)");
            }
        }

        foreach (var (name, value) in chosen.OrderBy(_ => random.Next()))
        {
            args.Add(name == "--output" && definition.Find("-o") is not null && random.Next(4) == 0 ? "-o" : name);
            if (value.Length > 0 || definition.Find(name) is { IsFlag: false })
            {
                args.Add(value);
            }
        }

        if (hostile && random.Next(6) == 0)
        {
            usage = true;
            switch (random.Next(6))
            {
                case 0:
                    args.Insert(2 + random.Next(args.Count - 1), "--bogus-option");
                    notes.Add("unknown option (Usage)");
                    break;
                case 1:
                    args.Add(definition.Options.Where(o => !o.IsFlag).ElementAt(random.Next(definition.Options.Count(o => !o.IsFlag))).Name);
                    notes.Add("last option without its value (Usage)");
                    break;
                case 2:
                    args.Add(c.At("second-model.onnx"));
                    notes.Add("a second positional argument (Usage)");
                    break;
                case 3:
                    args.Add("-");
                    notes.Add("a lone '-' (Usage)");
                    break;
                case 4:
                    args.Add("--");
                    notes.Add("a lone '--' (Usage)");
                    break;
                default:
                    args.Add("");
                    notes.Add("an empty argument (Usage)");
                    break;
            }
        }

        if (chosen.TryGetValue("--output", out var output) && output.StartsWith(c.Root, StringComparison.Ordinal))
        {
            outputs.Add(Path.GetRelativePath(c.Root, output));
            outputs.Add(Path.GetRelativePath(c.Root, output) + ".data");
        }

        foreach (var o in new[] { "--encodings", "--aimet-model" })
        {
            if (chosen.TryGetValue(o, out var path) && path.StartsWith(c.Root, StringComparison.Ordinal))
            {
                outputs.Add(Path.GetRelativePath(c.Root, path));
            }
        }

        var folders = new List<string>();
        if (chosen.TryGetValue("--out", out var report) && report.StartsWith(c.Root, StringComparison.Ordinal))
        {
            folders.Add(Path.GetRelativePath(c.Root, report));
        }

        var expect = refuse ? FuzzExpect.RefuseOrWarn : usage ? FuzzExpect.Usage : FuzzExpect.Anything;
        return new GeneratedLine(args, expect, outputs, folders, notes.Count == 0 ? "valid options" : string.Join("; ", notes));
    }

    /// <summary>A value for <paramref name="option"/>: usually valid, sometimes (hostile) invalid, with the fault it injects.</summary>
    private static (string Value, FuzzExpect Fault) Value(CaseFolder c, string command, CliOption option, string model, string? calibration, string outFolder, bool hostile)
    {
        var random = c.Random;
        bool bad = hostile && random.Next(5) == 0;
        if (option.Choices is { } choices)
        {
            if (!bad)
            {
                // Keep runs short: no 16-bit weight search or GPTQ unless hostile.
                var usable = choices.Where(v => hostile || v is not ("gptq" or "gptq-mse" or "seqmse")).ToList();
                return (usable[random.Next(usable.Count)], FuzzExpect.Anything);
            }

            string[] invalid = ["", "INT8", choices[0] + " ", "none", "1e9", "-1", choices[0].ToUpperInvariant() + "x"];
            return (invalid[random.Next(invalid.Length)], FuzzExpect.Usage);
        }

        switch (option.Name)
        {
            case "--calibration" or "--eval" or "--windows":
                string[] folders = [calibration ?? c.Folder("empty-cal"), c.Folder("empty-cal"), c.At("missing-cal"), model];
                int k = bad ? 1 + random.Next(3) : 0;
                return (folders[k], k == 0 ? FuzzExpect.Anything : FuzzExpect.RefuseOrWarn);
            case "--config":
                return Config(c, bad);
            case "--mean" or "--std":
                string[] good = ["0.5", "0.1,0.2,0.3", "0.25"];
                // Mean and std normalize images; given with .npy samples they are refused.
                bool npy = calibration is not null && Directory.Exists(calibration) && Directory.EnumerateFiles(calibration, "*.npy").Any();
                if (!bad)
                {
                    return (good[random.Next(good.Length)], npy ? FuzzExpect.RefuseOrWarn : FuzzExpect.Anything);
                }

                string[] wrong = ["abc", "", "a,b", "1;2"];
                string[] refused = option.Name == "--std" ? ["0", "nan", "inf", "-1", "1e40", "1,2", "0,0,0"] : ["nan", "inf", "-inf", "1e40", "1,2"];
                return random.Next(3) == 0 ? (wrong[random.Next(wrong.Length)], FuzzExpect.Usage) : (refused[random.Next(refused.Length)], FuzzExpect.RefuseOrWarn);
            case "--smoothquant":
                return bad ? (new[] { "1.5", "-0.1", "nan", "abc", "" }[random.Next(5)], FuzzExpect.Usage) : (new[] { "auto", "off", "0.5", "0", "1" }[random.Next(5)], FuzzExpect.Anything);
            case "--candidates":
                return bad ? (new[] { "W5A8", "", ",,", "W8A8,W3A3", "FP64" }[random.Next(5)], FuzzExpect.Usage)
                    : (new[] { "W8A8,W4A8", "FP32,W8A8", "W8A16,W8A8", "W8A8" }[random.Next(4)], FuzzExpect.Anything);
            case "--budget":
                return bad ? (new[] { "-1", "nan", "abc", "inf", "" }[random.Next(5)], FuzzExpect.Usage) : (new[] { "0", "0.01", "0.5", "1e308" }[random.Next(4)], FuzzExpect.Anything);
            case "--threads":
                return bad ? (new[] { "-1", "abc", "99999999999", "1.5", " 2" }[random.Next(5)], FuzzExpect.Usage) : (new[] { "0", "1", "2" }[random.Next(3)], FuzzExpect.Anything);
            case "--eval-samples":
                int min = command is "analyze" or "mixed-precision" ? 1 : 0;
                return bad ? (new[] { "-1", "abc", "99999999999", "", "0x10" }[random.Next(5)], FuzzExpect.Usage) : ((min + random.Next(3)).ToString(System.Globalization.CultureInfo.InvariantCulture), FuzzExpect.Anything);
            case "--output" or "--encodings" or "--aimet-model":
                return (Path.Combine(outFolder, option.Name.TrimStart('-') + ".out"), FuzzExpect.Anything);
            case "--out":
                return (Path.Combine(outFolder, "report"), FuzzExpect.Anything);
            default:
                return bad ? ("abc", FuzzExpect.Usage) : ("1", FuzzExpect.Anything);
        }
    }

    private static (string, FuzzExpect) Config(CaseFolder c, bool bad)
    {
        string path = c.At("out", "config.json");
        (string Json, FuzzExpect Fault)[] configs = bad
            ?
            [
                ("{", FuzzExpect.RefuseOrWarn),
                ("{\"noSuchKey\": 1}", FuzzExpect.RefuseOrWarn),
                ("{\"percentile\": \"NaN\"}", FuzzExpect.RefuseOrWarn),
                ("{\"weights\": \"int3\"}", FuzzExpect.RefuseOrWarn),
                ("null", FuzzExpect.RefuseOrWarn),
                ("[1, 2, 3]", FuzzExpect.RefuseOrWarn),
                ("{\"weightBlockSize\": -16}", FuzzExpect.RefuseOrWarn),
                ("{\"excludedNodes\": [\"no_such_node\"]}", FuzzExpect.RefuseOrWarn),
                ("{\"defaults\": {\"ops\": {\"is_output_quantized\": \"True\"}}, \"params\": {}, \"op_type\": {}, \"supergroups\": [], \"model_input\": {}, \"model_output\": {}}", FuzzExpect.Anything),
            ]
            :
            [
                ("{}", FuzzExpect.Anything),
                ("{\"outlierSmoothing\": false}", FuzzExpect.Anything),
                ("{\"perChannelWeights\": false}", FuzzExpect.Anything),
            ];
        var (json, fault) = configs[c.Random.Next(configs.Length)];
        File.WriteAllText(path, json);
        if (bad && c.Random.Next(4) == 0)
        {
            return (new[] { c.At("missing.json"), c.Folder("out", "config-folder"), c.At("model", "m.onnx") }[c.Random.Next(3)], FuzzExpect.RefuseOrWarn);
        }

        return (path, fault);
    }

    /// <summary>An output path that is fresh (usually) or aliases an input or another output, or cannot be written; whether it must be refused.</summary>
    private static (string Path, string What, bool Refused) AliasingPath(CaseFolder c, string option, string model, string? calibration, Dictionary<string, string> chosen, string outFolder)
    {
        var random = c.Random;
        string? sample = calibration is not null && Directory.Exists(calibration) ? Directory.GetFiles(calibration).Order(StringComparer.Ordinal).FirstOrDefault() : null;
        string? other = chosen.Where(kv => kv.Key != option && OutputOptions.Contains(kv.Key)).Select(kv => kv.Value).FirstOrDefault();
        switch (random.Next(12))
        {
            case 0:
                return (model, "the input model", true);
            case 1:
                string dir = Path.GetDirectoryName(model)!;
                return (Path.Combine(dir, "..", Path.GetFileName(dir), ".", Path.GetFileName(model)), "the input model through '..' and '.'", true);
            case 2:
                string link = Path.Combine(outFolder, "link-" + random.Next(1000) + ".onnx");
                File.CreateSymbolicLink(link, model);
                return (link, "a link to the input model", true);
            case 3:
                return File.Exists(model + ".data") ? (model + ".data", "the model's external data", true) : (Path.Combine(outFolder, "fresh.onnx"), "a fresh file", false);
            case 4:
                return sample is not null ? (sample, "a calibration file", true) : (Path.Combine(outFolder, "fresh2.onnx"), "a fresh file", false);
            case 5:
                return other is not null ? (other, "the same path as another output", true) : (Path.Combine(outFolder, "fresh3.onnx"), "a fresh file", false);
            case 6:
                return (c.At("missing-folder", "x.onnx"), "a file in a missing folder", true);
            case 7:
                return (c.Folder("out", "a-folder"), "an existing folder", true);
            case 8:
                return (Path.Combine(model, "x.onnx"), "a path under the model file", true);
            case 9:
                return ("", "an empty path", true);
            case 10:
                string existing = Path.Combine(outFolder, "existing.onnx");
                File.WriteAllText(existing, "an older output, replaced on success");
                return (existing, "an existing unrelated file", false);
            default:
                string l2 = Path.Combine(outFolder, "dangling-" + random.Next(1000) + ".onnx");
                File.CreateSymbolicLink(l2, Path.Combine(outFolder, "nowhere", "x.onnx"));
                return (l2, "a dangling link", false);
        }
    }

    /// <summary>A report folder: fresh, nested, existing, or the model file, the calibration folder, a path under a file.</summary>
    private static (string Path, string What, bool Refused) ReportFolder(CaseFolder c, string model, string? calibration, string outFolder) => c.Random.Next(6) switch
    {
        0 => (Path.Combine(outFolder, "a", "b", "c"), "a nested folder that does not exist yet", false),
        1 => (c.Folder("out", "existing-report"), "an existing folder", false),
        2 => (model, "the model file", true),
        3 => (Path.Combine(model, "report"), "a folder under the model file", true),
        4 => (calibration ?? outFolder, "the calibration folder", false),
        _ => ("", "an empty path", true),
    };

    private static string Show(string value) => value.Length == 0 ? "''" : value.Length > 40 ? "'…" + value[^30..] + "'" : $"'{value}'";
}
