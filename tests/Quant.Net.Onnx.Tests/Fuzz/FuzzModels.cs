using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;
using Quant.Net.Onnx.Tests.Support;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>One way to write a model file for a case: its name, whether success would be wrong, and the writer (model path, case random).</summary>
internal sealed record ModelKind(string Name, FuzzExpect Expect, Action<string, Random> Write, bool ChildProcess = false);

/// <summary>
/// Malformed models: structural mutations of the fuzz CNN built in code (types, names, dimensions, non-finite values,
/// subgraphs, cycles, external data) and byte mutations of its serialized form.
/// </summary>
internal static class FuzzModels
{
    /// <summary>Every structural mutation; the valid model first.</summary>
    public static IReadOnlyList<ModelKind> Structural()
    {
        var kinds = new List<ModelKind>
        {
            new("valid CNN", FuzzExpect.Success, (p, r) => FuzzFiles.Cnn(r.Next()).Save(p)),
            new("nodes in reverse order", FuzzExpect.Success, Proto(m => Reverse(m.Graph.Node))),
            new("weights as float_data instead of raw_data", FuzzExpect.Success, Proto(m =>
            {
                var w = Init(m, "w0");
                var values = TensorData.ToFloats(w);
                w.RawData = ByteString.Empty;
                w.FloatData.Add(values);
            })),
            new("Conv weight NaN", FuzzExpect.RefuseOrWarn, Poison("w0", float.NaN)),
            new("Gemm weight +inf", FuzzExpect.RefuseOrWarn, Poison("w4", float.PositiveInfinity)),
            new("Conv bias -inf", FuzzExpect.RefuseOrWarn, Poison("b0", float.NegativeInfinity)),
            new("Gemm bias NaN", FuzzExpect.RefuseOrWarn, Poison("b4", float.NaN)),
            new("BatchNorm variance negative", FuzzExpect.RefuseOrWarn, Poison("var1", -1f)),
            new("BatchNorm variance NaN", FuzzExpect.RefuseOrWarn, Poison("var1", float.NaN)),
            new("BatchNorm variance 0 and epsilon 0", FuzzExpect.RefuseOrWarn, Proto(m =>
            {
                Set(m, "var1", 0, 0f);
                m.Graph.Node.Single(n => n.OpType == "BatchNormalization").Attribute.Single(a => a.Name == "epsilon").F = 0;
            })),
            new("BatchNorm gamma NaN", FuzzExpect.RefuseOrWarn, Poison("gamma1", float.NaN)),
            new("BatchNorm mean +inf", FuzzExpect.RefuseOrWarn, Poison("mean1", float.PositiveInfinity)),
            new("Gemm weight 3e38 (finite, huge)", FuzzExpect.Anything, Poison("w4", 3e38f)),
            new("Conv weights all zero", FuzzExpect.Anything, Proto(m => Replace(m, "w0", v => v.Select(_ => 0f).ToArray()))),
            new("Conv weights denormal", FuzzExpect.Anything, Proto(m => Replace(m, "w0", v => v.Select(x => x * 1e-40f).ToArray()))),
            new("dangling node input", FuzzExpect.RefuseOrWarn, Proto(m => m.Graph.Node.Single(n => n.OpType == "Relu").Input[0] = "no_such_tensor")),
            new("unknown operator", FuzzExpect.Anything, Proto(m => m.Graph.Node.Single(n => n.OpType == "Relu").OpType = "Frobnicate")),
            new("operator of an unknown domain", FuzzExpect.Anything, Proto(m =>
            {
                m.Graph.Node.Single(n => n.OpType == "Relu").Domain = "com.example";
                m.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.example", Version = 1 });
            })),
            new("float16 input and output only", FuzzExpect.Anything, Proto(m => { Type(m.Graph.Input[0], DataType.Float16); Type(m.Graph.Output[0], DataType.Float16); })),
            new("float16 model", FuzzExpect.Anything, Proto(m =>
            {
                Type(m.Graph.Input[0], DataType.Float16);
                Type(m.Graph.Output[0], DataType.Float16);
                foreach (var t in m.Graph.Initializer.ToList())
                {
                    var half = TensorData.ToFloats(t).Select(v => (Half)v).ToArray();
                    t.DataType = (int)DataType.Float16;
                    t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(half.AsSpan()));
                }
            })),
            new("float64 Gemm weight", FuzzExpect.RefuseOrWarn, Proto(m =>
            {
                var w = Init(m, "w4");
                var d = TensorData.ToFloats(w).Select(v => (double)v).ToArray();
                w.DataType = (int)DataType.Double;
                w.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(d.AsSpan()));
            })),
            new("duplicate initializer", FuzzExpect.RefuseOrWarn, Proto(m => m.Graph.Initializer.Add(Init(m, "b0").Clone()))),
            new("tensor produced twice", FuzzExpect.RefuseOrWarn, Proto(m =>
            {
                var relu = m.Graph.Node.Single(n => n.OpType == "Relu");
                var again = relu.Clone();
                again.Name = "again";
                m.Graph.Node.Add(again);
            })),
            new("graph output listed twice", FuzzExpect.Anything, Proto(m => m.Graph.Output.Add(m.Graph.Output[0].Clone()))),
            new("duplicate node names", FuzzExpect.Anything, Proto(m => { foreach (var n in m.Graph.Node) { n.Name = "same"; } })),
            new("empty node and tensor names", FuzzExpect.Anything, Proto(m => { foreach (var n in m.Graph.Node) { n.Name = ""; } })),
            new("names with newlines and console markup", FuzzExpect.Anything, Proto(m => Rename(m, "relu_2", "[red]relu[/]\nsecond line"))),
            new("a 10,000-character tensor name", FuzzExpect.Anything, Proto(m => Rename(m, "relu_2", new string('n', 10_000)))),
            new("graph input without a type", FuzzExpect.Anything, Proto(m => m.Graph.Input[0].Type = null)),
            new("initializer also listed as a graph input", FuzzExpect.Anything, Proto(m => m.Graph.Input.Add(GraphBuilder.ValueInfo("w0", DataType.Float, [4, 3, 3, 3])))),
            new("graph output produced by no node", FuzzExpect.RefuseOrWarn, Proto(m => m.Graph.Output[0].Name = "nowhere")),
            new("no nodes and no outputs", FuzzExpect.RefuseOrWarn, Proto(m => { m.Graph.Node.Clear(); m.Graph.Output.Clear(); })),
            new("no nodes, output is the input", FuzzExpect.Anything, Proto(m =>
            {
                m.Graph.Node.Clear();
                m.Graph.Initializer.Clear();
                m.Graph.Output[0] = m.Graph.Input[0].Clone();
            })),
            new("a cycle of two nodes", FuzzExpect.RefuseOrWarn, Proto(m =>
            {
                var relu = m.Graph.Node.Single(n => n.OpType == "Relu");
                var flatten = m.Graph.Node.Single(n => n.OpType == "Flatten");
                relu.Input[0] = flatten.Output[0];
            })),
            new("a node reading its own output", FuzzExpect.RefuseOrWarn, Proto(m =>
            {
                var relu = m.Graph.Node.Single(n => n.OpType == "Relu");
                relu.OpType = "Add";
                relu.Input.Add(relu.Output[0]);
            })),
            new("a node with no outputs", FuzzExpect.Anything, Proto(m => m.Graph.Node.Single(n => n.OpType == "Relu").Output.Clear())),
            new("Conv with no inputs", FuzzExpect.Anything, Proto(m => m.Graph.Node.Single(n => n.OpType == "Conv").Input.Clear())),
            new("Conv with only its data input", FuzzExpect.Anything, Proto(m => { var c = m.Graph.Node.Single(n => n.OpType == "Conv"); c.Input.RemoveAt(2); c.Input.RemoveAt(1); })),
            new("Conv weight given by an empty name", FuzzExpect.Anything, Proto(m => m.Graph.Node.Single(n => n.OpType == "Conv").Input[1] = "")),
            new("Conv group 0", FuzzExpect.Anything, Attr("Conv", "group", a => a.I = 0)),
            new("Conv group 5", FuzzExpect.Anything, Attr("Conv", "group", a => a.I = 5)),
            new("Conv strides 0", FuzzExpect.Anything, Attr("Conv", "strides", a => { a.Ints.Clear(); a.Ints.Add([0, 0]); })),
            new("Conv pads negative", FuzzExpect.Anything, Attr("Conv", "pads", a => { a.Ints.Clear(); a.Ints.Add([-3, -3, -3, -3]); })),
            new("Conv kernel_shape not the weight's", FuzzExpect.Anything, Attr("Conv", "kernel_shape", a => { a.Ints.Clear(); a.Ints.Add([5, 5]); })),
            new("Conv kernel_shape as a float attribute", FuzzExpect.Anything, Attr("Conv", "kernel_shape", a => { a.Type = AttributeProto.Types.AttributeType.Float; a.Ints.Clear(); a.F = 3; })),
            new("Conv dilations 1000", FuzzExpect.Anything, Proto(m => GraphBuilder.Ints("dilations", 1000, 1000)(m.Graph.Node.Single(n => n.OpType == "Conv")))),
            new("Gemm transB flipped", FuzzExpect.Anything, Attr("Gemm", "transB", a => a.I = 0)),
            new("Conv weight of rank 2", FuzzExpect.Anything, Proto(m => { var w = Init(m, "w0"); w.Dims.Clear(); w.Dims.Add([4, 27]); })),
            new("initializer with fewer bytes than its dims", FuzzExpect.RefuseOrWarn, Proto(m => { var w = Init(m, "w4"); w.RawData = ByteString.CopyFrom(w.RawData.Span[..(w.RawData.Length / 2)]); })),
            new("initializer dims overflowing int64 products", FuzzExpect.RefuseOrWarn, Proto(m => { var w = Init(m, "w4"); w.Dims.Clear(); w.Dims.Add([2147483647, 2147483647, 2147483647]); })),
            new("initializer dims beyond int32", FuzzExpect.RefuseOrWarn, Proto(m => { var w = Init(m, "w4"); w.Dims[0] = 1L << 40; })),
            new("initializer with a negative dimension", FuzzExpect.RefuseOrWarn, Proto(m => { var w = Init(m, "w4"); w.Dims[0] = -5; })),
            new("initializer with no data", FuzzExpect.RefuseOrWarn, Proto(m => Init(m, "w4").RawData = ByteString.Empty)),
            new("initializer of element type 0", FuzzExpect.Anything, Proto(m => Init(m, "w0").DataType = 0)),
            new("initializer of element type 999", FuzzExpect.Anything, Proto(m => Init(m, "w0").DataType = 999)),
            new("Conv weight stored as int64", FuzzExpect.Anything, Proto(m =>
            {
                var w = Init(m, "w0");
                var longs = TensorData.ToFloats(w).Select(v => (long)(v * 10)).ToArray();
                w.DataType = (int)DataType.Int64;
                w.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(longs.AsSpan()));
            })),
            new("sparse initializer", FuzzExpect.Anything, Proto(m =>
            {
                var values = TensorData.Create<float>("w_sparse", [1f, 2f], [2]);
                var indices = TensorData.Create<long>("w_sparse_idx", [0, 5], [2]);
                var sparse = new SparseTensorProto { Values = values, Indices = indices };
                sparse.Dims.Add([4, 4]);
                m.Graph.SparseInitializer.Add(sparse);
            })),
            new("Constant node with a NaN feeding the Gemm weight", FuzzExpect.RefuseOrWarn, Proto(m =>
            {
                var w = Init(m, "w4");
                var values = TensorData.ToFloats(w);
                values[3] = float.NaN;
                m.Graph.Initializer.Remove(w);
                var constant = new NodeProto { OpType = "Constant", Name = "const_w" };
                constant.Output.Add("w4");
                constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = TensorData.Create<float>("w4", values, TensorData.Shape(w)) });
                m.Graph.Node.Insert(0, constant);
            })),
            new("opset 0", FuzzExpect.Anything, Proto(m => m.OpsetImport[0].Version = 0)),
            new("opset 1", FuzzExpect.Anything, Proto(m => m.OpsetImport[0].Version = 1)),
            new("opset 999", FuzzExpect.Anything, Proto(m => m.OpsetImport[0].Version = 999)),
            new("no opset import", FuzzExpect.Anything, Proto(m => m.OpsetImport.Clear())),
            new("IR version 99", FuzzExpect.Anything, Proto(m => m.IrVersion = 99)),
            new("IR version 0", FuzzExpect.Anything, Proto(m => m.IrVersion = 0)),
            new("two inputs", FuzzExpect.Anything, Proto(m =>
            {
                m.Graph.Input.Add(GraphBuilder.ValueInfo("x2", DataType.Float, [1, 3, 8, 8]));
                var add = ProtoBuilder.Node("Add", "add_inputs", ["x", "x2"], "x_sum");
                m.Graph.Node.Single(n => n.OpType == "Conv").Input[0] = "x_sum";
                m.Graph.Node.Insert(0, add);
            })),
            new("int64 token input into Gather", FuzzExpect.Anything, (p, r) => Embedding(r).Save(p)),
            new("If with Conv branches", FuzzExpect.Anything, (p, r) => If(r, sorted: true).Save(p)),
            new("If with an unsorted branch", FuzzExpect.Anything, (p, r) => If(r, sorted: false).Save(p)),
            new("If without its else branch", FuzzExpect.Anything, (p, r) =>
            {
                var m = If(r, sorted: true);
                var node = m.Graph.Node.Single(n => n.OpType == "If");
                node.Attribute.Remove(node.Attribute.Single(a => a.Name == "else_branch"));
                m.Save(p);
            }),
        };

        foreach (var type in new[] { DataType.Int32, DataType.Int64, DataType.Bool, DataType.String, DataType.Undefined, DataType.Bfloat16, DataType.Complex64, DataType.Uint8, DataType.Double })
        {
            kinds.Add(new($"graph input of element type {type}", type == DataType.Double ? FuzzExpect.RefuseOrWarn : FuzzExpect.Anything, Proto(m => Type(m.Graph.Input[0], type))));
        }

        foreach (var dims in new[] { new long[] { 1, 3, 1L << 40, 8 }, [1, 3, -5, 8], [1, 3, 0, 8], [], [1, 1, 1, 1, 1, 3, 8, 8], [long.MaxValue, 3, 8, 8] })
        {
            kinds.Add(new($"graph input dims [{string.Join(", ", dims)}]", FuzzExpect.Anything, Proto(m => Dims(m.Graph.Input[0], dims))));
        }

        kinds.AddRange(External());
        return kinds;
    }

    /// <summary>Models with external data, then the data damaged or redirected.</summary>
    private static IEnumerable<ModelKind> External()
    {
        yield return new("external data, valid", FuzzExpect.Success, (p, r) => SaveExternal(p, r));
        yield return new("external data file missing", FuzzExpect.RefuseOrWarn, (p, r) => { SaveExternal(p, r); File.Delete(p + ".data"); });
        yield return new("external data file truncated", FuzzExpect.RefuseOrWarn, (p, r) =>
        {
            SaveExternal(p, r);
            var bytes = File.ReadAllBytes(p + ".data");
            File.WriteAllBytes(p + ".data", bytes[..(bytes.Length / 3)]);
        });
        yield return new("external data is a folder", FuzzExpect.RefuseOrWarn, (p, r) => { SaveExternal(p, r); File.Delete(p + ".data"); Directory.CreateDirectory(p + ".data"); });
        foreach (var (offset, length) in new[] { ("99999999999999999999", null), ("-4", null), ("9223372036854775800", "100"), ("0", "9223372036854775807"), ("abc", null), ("", ""), ("1", null), ("0", "-1"), ("0", "0") })
        {
            yield return new($"external data offset '{offset}' length '{length ?? "(as saved)"}'", (offset, length) is ("0", "0") or ("1", null) ? FuzzExpect.Anything : FuzzExpect.RefuseOrWarn, (p, r) =>
                EditExternal(p, r, t =>
                {
                    Entry(t, "offset").Value = offset;
                    if (length is not null)
                    {
                        Entry(t, "length").Value = length;
                    }
                }));
        }

        foreach (var (name, location) in new[] { ("absolute", "/etc/hostname"), ("escaping with ..", "../outside.data"), ("empty", ""), ("with a NUL character", "a\0b.data"), ("the model file itself", "MODEL"), ("a folder", ".") })
        {
            yield return new($"external data location {name}", FuzzExpect.RefuseOrWarn, (p, r) =>
            {
                File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(p))!, "outside.data"), new byte[4096]);
                EditExternal(p, r, t => Entry(t, "location").Value = location == "MODEL" ? Path.GetFileName(p) : location);
            });
        }

        yield return new("external data location key twice", FuzzExpect.Anything, (p, r) => EditExternal(p, r, t => t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "other.data" })));
        yield return new("external data behind a link outside the folder", FuzzExpect.RefuseOrWarn, (p, r) =>
        {
            SaveExternal(p, r);
            string outside = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(p))!, "outside.data");
            File.Move(p + ".data", outside, overwrite: true);
            File.CreateSymbolicLink(p + ".data", outside);
        });
        foreach (var device in new[] { "/dev/zero", "/dev/urandom" })
        {
            yield return new($"external data is a link to {device}", FuzzExpect.RefuseOrWarn, (p, r) =>
            {
                SaveExternal(p, r);
                File.Delete(p + ".data");
                File.CreateSymbolicLink(p + ".data", device);
            }, ChildProcess: true);
        }
    }

    /// <summary>The CNN's serialized bytes for byte-level mutation, and the ranges of its tensor payloads.</summary>
    public static (byte[] Bytes, List<(int Start, int Length)> Payloads) Serialized(int seed)
    {
        var model = FuzzFiles.Cnn(seed);
        var bytes = model.ToBytes();
        var payloads = new List<(int, int)>();
        foreach (var t in model.Graph.Initializer)
        {
            int at = bytes.AsSpan().IndexOf(t.RawData.Span);
            if (at >= 0)
            {
                payloads.Add((at, t.RawData.Length));
            }
        }

        return (bytes, payloads);
    }

    /// <summary>
    /// A byte-level mutation of <paramref name="bytes"/>: flipped bits, overwritten or deleted or inserted or repeated
    /// runs, a 0xFF run (varints that never end), or a truncation; half the positions avoid tensor payloads so the
    /// structure is what changes. Returns the mutated bytes and what was done.
    /// </summary>
    public static (byte[] Bytes, string What) Mutate(byte[] bytes, List<(int Start, int Length)> payloads, Random random)
    {
        int Position()
        {
            for (int attempt = 0; attempt < 50; attempt++)
            {
                int p = random.Next(bytes.Length);
                if (random.Next(2) == 0 || !payloads.Any(r => p >= r.Start && p < r.Start + r.Length))
                {
                    return p;
                }
            }

            return random.Next(bytes.Length);
        }

        var list = bytes.ToList();
        int at = Position();
        switch (random.Next(7))
        {
            case 0:
                int flips = 1 + random.Next(8);
                for (int i = 0; i < flips; i++)
                {
                    int p = Position();
                    list[p] ^= (byte)(1 << random.Next(8));
                }

                return ([.. list], $"{flips} bit flips");
            case 1:
                int n = 1 + random.Next(16);
                for (int i = 0; i < n && at + i < list.Count; i++)
                {
                    list[at + i] = (byte)random.Next(256);
                }

                return ([.. list], $"{n} random bytes at {at}");
            case 2:
                int count = Math.Min(1 + random.Next(64), list.Count - at);
                list.RemoveRange(at, count);
                return ([.. list], $"{count} bytes deleted at {at}");
            case 3:
                var inserted = new byte[1 + random.Next(32)];
                random.NextBytes(inserted);
                list.InsertRange(at, inserted);
                return ([.. list], $"{inserted.Length} random bytes inserted at {at}");
            case 4:
                int length = Math.Min(1 + random.Next(200), list.Count - at);
                list.InsertRange(at, list.GetRange(at, length));
                return ([.. list], $"{length} bytes repeated at {at}");
            case 5:
                int run = 1 + random.Next(12);
                for (int i = 0; i < run && at + i < list.Count; i++)
                {
                    list[at + i] = 0xFF;
                }

                return ([.. list], $"0xFF run of {run} at {at}");
            default:
                return (bytes[..at], $"truncated to {at} of {bytes.Length} bytes");
        }
    }

    private static Action<string, Random> Proto(Action<ModelProto> mutate) => (path, random) =>
    {
        var proto = FuzzFiles.Cnn(random.Next()).Proto.Clone();
        mutate(proto);
        FuzzFiles.WriteProto(path, proto);
    };

    private static Action<string, Random> Poison(string tensor, float value) => Proto(m =>
    {
        var t = Init(m, tensor);
        Set(m, tensor, value is float.NaN ? 1 : TensorData.ElementCount(t) - 1, value);
    });

    private static Action<string, Random> Attr(string op, string name, Action<AttributeProto> edit) =>
        Proto(m => edit(m.Graph.Node.Single(n => n.OpType == op).Attribute.Single(a => a.Name == name)));

    private static TensorProto Init(ModelProto m, string name) => m.Graph.Initializer.Single(t => t.Name == name);

    private static void Set(ModelProto m, string tensor, int index, float value) => Replace(m, tensor, v =>
    {
        v[index] = value;
        return v;
    });

    private static void Replace(ModelProto m, string tensor, Func<float[], float[]> edit)
    {
        var t = Init(m, tensor);
        var replacement = TensorData.Create<float>(t.Name, edit(TensorData.ToFloats(t)), TensorData.Shape(t));
        m.Graph.Initializer[m.Graph.Initializer.IndexOf(t)] = replacement;
    }

    private static void Reverse(Google.Protobuf.Collections.RepeatedField<NodeProto> nodes)
    {
        var reversed = nodes.Reverse().ToList();
        nodes.Clear();
        nodes.Add(reversed);
    }

    private static void Rename(ModelProto m, string from, string to)
    {
        foreach (var n in m.Graph.Node)
        {
            for (int i = 0; i < n.Input.Count; i++)
            {
                n.Input[i] = n.Input[i] == from ? to : n.Input[i];
            }

            for (int i = 0; i < n.Output.Count; i++)
            {
                n.Output[i] = n.Output[i] == from ? to : n.Output[i];
            }

            n.Name = n.Output.Contains(to) ? to + " node" : n.Name;
        }
    }

    private static void Type(ValueInfoProto value, DataType type) => value.Type.TensorType.ElemType = (int)type;

    private static void Dims(ValueInfoProto value, long[] dims)
    {
        value.Type.TensorType.Shape.Dim.Clear();
        value.Type.TensorType.Shape.Dim.Add(dims.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
    }

    private static void SaveExternal(string path, Random random) =>
        FuzzFiles.Cnn(random.Next()).Save(path, new OnnxSaveOptions { UseExternalData = true, ExternalDataThreshold = 16 });

    private static void EditExternal(string path, Random random, Action<TensorProto> edit)
    {
        SaveExternal(path, random);
        var saved = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var external = saved.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        edit(external[random.Next(external.Count)]);
        FuzzFiles.WriteProto(path, saved);
    }

    private static StringStringEntryProto Entry(TensorProto t, string key)
    {
        var entry = t.ExternalData.FirstOrDefault(e => e.Key == key);
        if (entry is null)
        {
            entry = new StringStringEntryProto { Key = key };
            t.ExternalData.Add(entry);
        }

        return entry;
    }

    /// <summary>tokens [1, 8] int64 → Gather(table [50, 16]) → MatMul [16, 8]: an int64 input a float .npy cannot feed.</summary>
    private static OnnxModel Embedding(Random random)
    {
        var g = new GraphBuilder(seed: random.Next());
        g.Graph.Input.Add(GraphBuilder.ValueInfo("x", DataType.Int64, [1, 8]));
        string gathered = g.Node("Gather", [g.Random("table", 0.5f, 50, 16), "x"]);
        g.Output(g.Node("MatMul", [gathered, g.Random("proj", 0.3f, 16, 8)], "y"), 1, 8, 8);
        return g.Build();
    }

    /// <summary>x → If(cond: initializer) { Conv → Relu } else { Conv }: quantizable work inside branches, outer-scope weights.</summary>
    private static OnnxModel If(Random random, bool sorted)
    {
        var g = new GraphBuilder(seed: random.Next());
        string x = g.Input("x", 1, 3, 8, 8);
        string w = g.Random("w_branch", 0.5f, 4, 3, 3, 3);
        g.Graph.Initializer.Add(new TensorProto { Name = "cond", DataType = (int)DataType.Bool, RawData = ByteString.CopyFrom([1]) });
        GraphProto Branch(string name, bool relu)
        {
            var branch = new GraphProto { Name = name };
            var conv = ProtoBuilder.Node("Conv", name + "_conv", [x, w], relu ? name + "_c" : name + "_out");
            GraphBuilder.Ints("pads", 1, 1, 1, 1)(conv);
            branch.Node.Add(conv);
            if (relu)
            {
                branch.Node.Add(ProtoBuilder.Node("Relu", name + "_relu", [name + "_c"], name + "_out"));
                if (!sorted)
                {
                    var first = branch.Node[0];
                    branch.Node.RemoveAt(0);
                    branch.Node.Add(first);
                }
            }

            branch.Output.Add(GraphBuilder.ValueInfo(name + "_out", DataType.Float, [1, 4, 8, 8]));
            return branch;
        }

        g.Node("If", ["cond"], "y", n =>
        {
            n.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("then", relu: true) });
            n.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("else", relu: false) });
        });
        g.Output("y", 1, 4, 8, 8);
        return g.Build();
    }
}
