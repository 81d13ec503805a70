using System.Text;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>
/// Generates the suite's cases from one seed: the same seed gives the same cases with the same ids in the same order.
/// Each group mixes valid controls with malformed inputs: structural and byte-level model mutations, calibration folders,
/// and option combinations through the CLI (in process, and in a child process for endless, blocking or hanging
/// inputs), and library calls that may only throw the exceptions their XML docs name.
/// </summary>
internal static class FuzzCaseGenerator
{
    private const string ModelFolder = "model", ModelFile = "m.onnx";

    private static readonly string[] Analysis = ["analyze", "mixed-precision"];

    /// <summary>All cases for <paramref name="seed"/>.</summary>
    public static IReadOnlyList<FuzzCase> Generate(int seed)
    {
        var random = new Random(seed);
        var cases = new List<FuzzCase>();
        void Add(string description, FuzzRoute route, FuzzExpect expect, Func<CaseFolder, FuzzInvocation> setup) =>
            cases.Add(new FuzzCase($"F{cases.Count:D4}", description, route, expect, random.Next(), setup));

        // Controls: every command on valid inputs.
        foreach (var command in new[] { "quantize", "analyze", "mixed-precision", "weight-only" })
        {
            Add($"{command}: valid model, npy calibration, required options", FuzzRoute.InProcess, FuzzExpect.Success,
                c => Cli(c, command, Valid(command), NpyFolder, FuzzOptions.Mode.Bare));
        }

        Add("quantize --dynamic: valid model, no calibration", FuzzRoute.InProcess, FuzzExpect.Success, c =>
        {
            var line = FuzzOptions.Line(c, "quantize", WriteModel(c, Valid("quantize")), null, FuzzOptions.Mode.Bare);
            line.Args.Add("--dynamic");
            return Invocation(c, line, FuzzExpect.Success);
        });

        // Structural model mutations: quantize with valid calibration, and one other command.
        foreach (var kind in FuzzModels.Structural())
        {
            var route = kind.ChildProcess ? FuzzRoute.ChildProcess : FuzzRoute.InProcess;
            Add($"quantize: model '{kind.Name}', npy calibration", route, kind.Expect, c => Cli(c, "quantize", kind.Write, NpyFolder, FuzzOptions.Mode.Bare));
            string other = new[] { "quantize --dynamic", "analyze", "mixed-precision", "weight-only", "quantize" }[random.Next(5)];
            // weight-only leaves Conv/Gemm/BatchNorm alone, so what is bad for them is not its business.
            var expect = kind.Expect == FuzzExpect.Success || other == "weight-only" ? FuzzExpect.Anything : kind.Expect;
            Add($"{other}: model '{kind.Name}'", route, expect, c =>
            {
                if (other == "quantize --dynamic")
                {
                    var line = FuzzOptions.Line(c, "quantize", WriteModel(c, kind.Write), null, FuzzOptions.Mode.Bare);
                    line.Args.Add("--dynamic");
                    return Invocation(c, line, null);
                }

                return Cli(c, other, kind.Write, NpyFolder, other == "quantize" ? FuzzOptions.Mode.Valid : FuzzOptions.Mode.Bare, keepModelExpect: true);
            });
        }

        // Byte mutations of the serialized model: through the CLI, and through OnnxModel.Load.
        var (bytes, payloads) = FuzzModels.Serialized(seed);
        for (int i = 0; i < 140; i++)
        {
            var (mutated, what) = FuzzModels.Mutate(bytes, payloads, random);
            Add($"quantize: model bytes mutated ({what})", FuzzRoute.InProcess, FuzzExpect.Anything, c => Cli(c, "quantize", (p, _) => File.WriteAllBytes(p, mutated), NpyFolder, FuzzOptions.Mode.Bare));
        }

        for (int i = 0; i < 20; i++)
        {
            var (mutated, what) = FuzzModels.Mutate(bytes, payloads, random);
            string command = new[] { "analyze", "mixed-precision", "weight-only", "quantize" }[random.Next(4)];
            Add($"{command}: model bytes mutated ({what})", FuzzRoute.ChildProcess, FuzzExpect.Anything, c => Cli(c, command, (p, _) => File.WriteAllBytes(p, mutated), NpyFolder, FuzzOptions.Mode.Bare));
        }

        for (int i = 0; i < 250; i++)
        {
            var (mutated, what) = FuzzModels.Mutate(bytes, payloads, random);
            Add($"OnnxModel.Load: bytes mutated ({what})", FuzzRoute.Api, FuzzExpect.Anything, c =>
            {
                string path = c.At("m.onnx");
                File.WriteAllBytes(path, mutated);
                return new FuzzInvocation { Call = () => OnnxModel.Load(path), Documented = [typeof(OnnxFormatException), typeof(FileNotFoundException)] };
            });
        }

        // Calibration folders: quantize, and sometimes analyze or mixed-precision; the library reads them too.
        foreach (var kind in FuzzCalibration.All())
        {
            var route = kind.ChildProcess ? FuzzRoute.ChildProcess : FuzzRoute.InProcess;
            Add($"quantize: calibration '{kind.Name}'", route, kind.Expect, c => Cli(c, "quantize", Valid("quantize"), kind.Write, FuzzOptions.Mode.Bare));
            if (random.Next(3) == 0)
            {
                string command = Analysis[random.Next(2)];
                Add($"{command}: calibration '{kind.Name}'", route, kind.Expect, c => Cli(c, command, Valid(command), kind.Write, FuzzOptions.Mode.Bare));
            }

            if (!kind.ChildProcess)
            {
                Add($"FolderCalibrationData: '{kind.Name}'", FuzzRoute.Api, FuzzExpect.Anything, c =>
                {
                    string model = WriteModel(c, Valid("quantize"));
                    string folder = kind.Write(c);
                    return new FuzzInvocation
                    {
                        Call = () =>
                        {
                            var data = FolderCalibrationData.Open(folder, OnnxModel.Load(model));
                            foreach (var sample in data.GetSamples())
                            {
                                GC.KeepAlive(sample);
                            }
                        },
                        Documented = [typeof(DirectoryNotFoundException), typeof(InvalidDataException)],
                    };
                });
            }
        }

        // Option combinations.
        for (int i = 0; i < 300; i++)
        {
            string command = new[] { "quantize", "quantize", "analyze", "mixed-precision", "weight-only" }[random.Next(5)];
            bool external = random.Next(4) == 0;
            var mode = random.Next(6) == 0 ? FuzzOptions.Mode.Valid : FuzzOptions.Mode.Hostile;
            Add($"{command}: {mode} options{(external ? ", model with external data" : "")}", FuzzRoute.InProcess, FuzzExpect.Anything,
                c => Cli(c, command, external ? ValidExternal(command) : Valid(command), command == "weight-only" ? null : NpyFolder, mode));
        }

        // Child-process cases: endless or blocking files where the tool reads a model or a config, default report folders.
        foreach (var device in new[] { "/dev/zero", "/dev/urandom" })
        {
            Add($"quantize: the model is {device}", FuzzRoute.ChildProcess, FuzzExpect.RefuseOrWarn, c => Cli(c, "quantize", (p, _) => File.CreateSymbolicLink(p, device), NpyFolder, FuzzOptions.Mode.Bare));
            Add($"quantize: --config is {device}", FuzzRoute.ChildProcess, FuzzExpect.RefuseOrWarn, c =>
            {
                var line = FuzzOptions.Line(c, "quantize", WriteModel(c, Valid("quantize")), NpyFolder(c), FuzzOptions.Mode.Bare);
                line.Args.AddRange(["--config", device]);
                return Invocation(c, line, FuzzExpect.RefuseOrWarn);
            });
            Add($"weight-only: --windows holds a link to {device}", FuzzRoute.ChildProcess, FuzzExpect.RefuseOrWarn, c =>
            {
                var line = FuzzOptions.Line(c, "weight-only", WriteModel(c, Valid("weight-only")), null, FuzzOptions.Mode.Bare);
                string windows = c.Folder("windows");
                File.CreateSymbolicLink(Path.Combine(windows, "w0.npy"), device);
                line.Args.AddRange(["--windows", windows]);
                return Invocation(c, line, FuzzExpect.RefuseOrWarn);
            });
        }

        Add("quantize: the model is a FIFO", FuzzRoute.ChildProcess, FuzzExpect.RefuseOrWarn, c => Cli(c, "quantize", (p, _) =>
        {
            if (!c.Fifo(p))
            {
                File.WriteAllBytes(p, []);
            }
        }, NpyFolder, FuzzOptions.Mode.Bare));
        Add("quantize: the model is a link to a FIFO", FuzzRoute.ChildProcess, FuzzExpect.RefuseOrWarn, c => Cli(c, "quantize", (p, _) =>
        {
            string fifo = c.At("pipe.onnx");
            if (c.Fifo(fifo))
            {
                File.CreateSymbolicLink(p, fifo);
            }
            else
            {
                File.WriteAllBytes(p, []);
            }
        }, NpyFolder, FuzzOptions.Mode.Bare));
        Add("quantize: --config is a FIFO", FuzzRoute.ChildProcess, FuzzExpect.RefuseOrWarn, c =>
        {
            var line = FuzzOptions.Line(c, "quantize", WriteModel(c, Valid("quantize")), NpyFolder(c), FuzzOptions.Mode.Bare);
            string fifo = c.At("config.json");
            if (!c.Fifo(fifo))
            {
                File.WriteAllText(fifo, "{");
            }

            line.Args.AddRange(["--config", fifo]);
            return Invocation(c, line, FuzzExpect.RefuseOrWarn);
        });
        foreach (var command in Analysis)
        {
            Add($"{command}: no --out (the report goes to the working folder)", FuzzRoute.ChildProcess, FuzzExpect.Success, c =>
            {
                var line = FuzzOptions.Line(c, command, WriteModel(c, Valid(command)), NpyFolder(c), FuzzOptions.Mode.Bare);
                int at = line.Args.IndexOf("--out");
                line.Args.RemoveRange(at, 2);
                return Invocation(c, line with { ReportFolders = [command == "analyze" ? "quant-analysis" : "quant-mixed-precision"] }, FuzzExpect.Success);
            });
        }

        for (int i = 0; i < 16; i++)
        {
            string command = new[] { "quantize", "analyze", "mixed-precision", "weight-only" }[i % 4];
            Add($"{command}: hostile options (child process)", FuzzRoute.ChildProcess, FuzzExpect.Anything,
                c => Cli(c, command, Valid(command), command == "weight-only" ? null : NpyFolder, FuzzOptions.Mode.Hostile));
        }

        // Library parsers on mutated text: .npy headers, quantization configs, AIMET encodings.
        for (int i = 0; i < 100; i++)
        {
            var npy = NpyMutation(random, out string what);
            Add($"NpyFile.Parse: {what}", FuzzRoute.Api, FuzzExpect.Anything, _ => new FuzzInvocation { Call = () => NpyFile.Parse(npy), Documented = [typeof(InvalidDataException)] });
        }

        string config = new QuantizationConfig().ToJson();
        for (int i = 0; i < 60; i++)
        {
            string json = TextMutation(config, random, out string what);
            Add($"QuantizationConfig.FromJson: {what}", FuzzRoute.Api, FuzzExpect.Anything, _ => new FuzzInvocation { Call = () => QuantizationConfig.FromJson(json), Documented = [typeof(ArgumentException)] });
        }

        string encodings = AimetEncodingsFile.ToJson(OnnxQuantizer.Quantize(FuzzFiles.Cnn(seed), null, new QuantizationConfig { Mode = QuantizationMode.Dynamic }), AimetEncodingsVersion.Version100);
        for (int i = 0; i < 60; i++)
        {
            string json = TextMutation(encodings, random, out string what);
            Add($"AimetEncodingsFile.Parse: {what}", FuzzRoute.Api, FuzzExpect.Anything, _ => new FuzzInvocation { Call = () => AimetEncodingsFile.Parse(json), Documented = [typeof(InvalidDataException)] });
        }

        return cases;
    }

    /// <summary>The valid model for <paramref name="command"/>: the CNN, or the MatMul model for weight-only.</summary>
    private static Action<string, Random> Valid(string command) =>
        command == "weight-only" ? (p, r) => FuzzFiles.Mlp(r.Next()).Save(p) : (p, r) => FuzzFiles.Cnn(r.Next()).Save(p);

    private static Action<string, Random> ValidExternal(string command) => (p, r) =>
        (command == "weight-only" ? FuzzFiles.Mlp(r.Next()) : FuzzFiles.Cnn(r.Next())).Save(p, new OnnxSaveOptions { UseExternalData = true, ExternalDataThreshold = 16 });

    /// <summary>1 to 4 valid .npy samples in "cal".</summary>
    private static string NpyFolder(CaseFolder c)
    {
        string folder = c.Folder("cal");
        int count = 1 + c.Random.Next(4);
        for (int i = 0; i < count; i++)
        {
            FuzzFiles.Npy(Path.Combine(folder, $"x.{i}.npy"), c.Random, FuzzFiles.InputShape);
        }

        return folder;
    }

    private static string WriteModel(CaseFolder c, Action<string, Random> write)
    {
        string path = Path.Combine(c.Folder(ModelFolder), ModelFile);
        write(path, c.Random);
        return path;
    }

    /// <summary>Writes the model and calibration folder, then a command line over them; the case's expectation stays unless the options decide.</summary>
    private static FuzzInvocation Cli(CaseFolder c, string command, Action<string, Random> model, Func<CaseFolder, string>? calibration, FuzzOptions.Mode mode, bool keepModelExpect = false)
    {
        string path = WriteModel(c, model);
        string? folder = calibration?.Invoke(c);
        var line = FuzzOptions.Line(c, command, path, folder, mode);
        return Invocation(c, line, line.Expect == FuzzExpect.Anything && (mode == FuzzOptions.Mode.Bare || keepModelExpect) ? null : line.Expect);
    }

    /// <summary>The invocation of a generated line; <paramref name="expect"/> overrides the case's expectation when not null.</summary>
    private static FuzzInvocation Invocation(CaseFolder c, GeneratedLine line, FuzzExpect? expect) => new()
    {
        Args = line.Args,
        Outputs = line.Outputs,
        ReportFolders = line.ReportFolders,
        Expect = expect,
        Note = line.Description,
        WorkingDirectory = c.Root,
    };

    /// <summary>A .npy file with a random header: dtype, shape (huge, negative, malformed), version, length field, payload size.</summary>
    private static byte[] NpyMutation(Random random, out string what)
    {
        string[] descrs = ["<f4", "<f8", "<f2", "<i8", "<i4", "|u1", "|b1", ">f4", "<c8", "|O", "<U3", "", "<f16", "f4"];
        string[] shapes = ["1, 3, 8, 8", "4294967296, 1", "2147483647, 2147483647", "-1,", "0,", "", "1,", "99999999999999999999,", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12", "3.5,", "a, b", "1 3", "(1, 2)"];
        string descr = descrs[random.Next(descrs.Length)], shape = shapes[random.Next(shapes.Length)];
        int major = new[] { 1, 1, 1, 2, 3, 0, 255 }[random.Next(7)];
        long? length = random.Next(5) == 0 ? new long[] { 0, 1, 65535, uint.MaxValue, 9 }[random.Next(5)] : null;
        var payload = new byte[new[] { 0, 4, 96, 768, 1536 }[random.Next(5)]];
        random.NextBytes(payload);
        string header = random.Next(6) == 0 ? "{'descr': '<f4', 'shape': (2, 2)" : FuzzFiles.NpyHeader(descr, shape, fortran: random.Next(5) == 0);
        what = $"descr '{descr}', shape ({shape}), version {major}, header length {length?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "right"}, {payload.Length} payload bytes";
        var bytes = FuzzFiles.NpyBytes(header, payload, major is 2 or 3 ? major : 1, length);
        bytes[6] = (byte)major;
        return bytes;
    }

    /// <summary>A mutation of JSON text: a value swapped for a hostile one, characters deleted or duplicated, a truncation.</summary>
    private static string TextMutation(string json, Random random, out string what)
    {
        string[] hostile = ["NaN", "-1", "1e400", "null", "\"\"", "[]", "{}", "99999999999999999999", "true", "\"\\u0000\"", "-0", "\"NaN\"", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"];
        int at = random.Next(json.Length);
        switch (random.Next(4))
        {
            case 0:
                // Replace the value after a ':' near the position.
                int colon = json.IndexOf(':', at);
                if (colon < 0)
                {
                    goto default;
                }

                int end = json.IndexOfAny([',', '}', '\n'], colon + 1);
                string value = hostile[random.Next(hostile.Length)];
                what = $"value at {colon} replaced by {value[..Math.Min(value.Length, 12)]}";
                return string.Concat(json.AsSpan(0, colon + 1), " ", value, end < 0 ? "" : json[end..]);
            case 1:
                int count = Math.Min(1 + random.Next(20), json.Length - at);
                what = $"{count} characters deleted at {at}";
                return json.Remove(at, count);
            case 2:
                int length = Math.Min(1 + random.Next(80), json.Length - at);
                what = $"{length} characters repeated at {at}";
                return json.Insert(at, json.Substring(at, length));
            default:
                what = $"truncated at {at}";
                return json[..at];
        }
    }
}
