using Quant.Net.Kernels;
using Quant.Net.Layers;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// A CNN run with Quant.Net's own layers — what an app would write to get INT8 inference without ONNX Runtime — built
/// from an ONNX model that <see cref="Quant.Net.Onnx.ModelPreparer"/> has prepared (BatchNorm folded into the convolutions):
/// Conv (a Relu that is its only reader is fused), Relu, MaxPool, AveragePool, Add (residuals), GlobalAveragePool, Flatten/Reshape and
/// Gemm. Batch 1, NCHW floats between layers. FP32 runs <see cref="Conv2d"/> and <see cref="Fp32Gemm"/>; INT8 runs
/// <see cref="QuantizedConv2d"/> and <see cref="QuantizedLinear"/> (per-channel int8 weights, uint8 inputs with static
/// encodings from the min/max each layer's input reached on calibration images in the FP32 network). In the INT8
/// network a convolution whose only reader is another convolution writes uint8 codes in that reader's input encoding
/// (requantized in its output stage) and the reader takes them as they are: no float tensor between the two.
/// </summary>
internal sealed class LayerNetwork
{
    private readonly List<Action<int, KernelThreadPool?>> _steps = [];
    private readonly List<string> _names = [];
    private readonly Dictionary<string, float[]> _buffers = [];
    private readonly Dictionary<string, int[]> _shapes = [];
    private readonly Dictionary<string, (byte[] Codes, QuantParams Encoding)> _codes = [];
    private readonly string _input;
    private readonly string _output;

    private LayerNetwork(string input, string output)
    {
        _input = input;
        _output = output;
    }

    /// <summary>Convolutions and fully connected layers that run on Quant.Net kernels.</summary>
    public int Layers { get; private set; }

    /// <summary>The output tensor's shape.</summary>
    public int[] OutputShape => _shapes[_output];

    /// <summary>Builds the FP32 network.</summary>
    public static LayerNetwork Float(Quant.Net.Onnx.OnnxModel prepared) => Build(prepared, inputRanges: null);

    /// <summary>Builds the INT8 network, calibrating each layer's input range on <paramref name="calibration"/> in the FP32 network.</summary>
    public static LayerNetwork Int8(Quant.Net.Onnx.OnnxModel prepared, IEnumerable<float[]> calibration)
    {
        var fp32 = Float(prepared);
        var ranges = new Dictionary<string, (float Min, float Max)>();
        foreach (var image in calibration)
        {
            fp32.Run(image, 1);
            foreach (var (name, values) in fp32._buffers)
            {
                float min = System.Numerics.Tensors.TensorPrimitives.Min(values), max = System.Numerics.Tensors.TensorPrimitives.Max(values);
                ranges[name] = ranges.TryGetValue(name, out var r) ? (Math.Min(r.Min, min), Math.Max(r.Max, max)) : (min, max);
            }
        }

        return Build(prepared, ranges);
    }

    /// <summary>Runs the network on one image; returns the output buffer (overwritten by the next run).</summary>
    public float[] Run(ReadOnlySpan<float> image, int maxDegreeOfParallelism, KernelThreadPool? pool = null)
    {
        image.CopyTo(_buffers[_input]);
        foreach (var step in _steps) step(maxDegreeOfParallelism, pool);
        return _buffers[_output];
    }

    /// <summary>Milliseconds per step (minimum over <paramref name="runs"/> runs), for finding where the time goes.</summary>
    public List<(string Step, double Milliseconds)> Profile(ReadOnlySpan<float> image, int runs, int maxDegreeOfParallelism = 1)
    {
        var best = Enumerable.Repeat(double.MaxValue, _steps.Count).ToArray();
        for (int r = 0; r < runs; r++)
        {
            image.CopyTo(_buffers[_input]);
            for (int i = 0; i < _steps.Count; i++)
            {
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                _steps[i](maxDegreeOfParallelism, null);
                best[i] = Math.Min(best[i], System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }

        return [.. _names.Zip(best)];
    }

    private static LayerNetwork Build(Quant.Net.Onnx.OnnxModel prepared, Dictionary<string, (float Min, float Max)>? inputRanges)
    {
        var graph = prepared.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var inputInfo = prepared.Inputs[0];
        var network = new LayerNetwork(inputInfo.Name, graph.Output[0].Name);
        int[] inputShape = [.. inputInfo.Shape.Select(d => (int)(d ?? 1))];
        network.Allocate(inputInfo.Name, inputShape);
        var readers = graph.Node.SelectMany(n => n.Input).GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
        var fusedRelus = new HashSet<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (fusedRelus.Contains(node)) continue;
            network._pending = node.OpType + " " + node.Name;
            string x = node.Input.Count > 0 ? node.Input[0] : "", y = node.Output[0];
            switch (node.OpType)
            {
                case "Conv":
                {
                    var next = graph.Node.FirstOrDefault(n => n.OpType == "Relu" && n.Input[0] == y);
                    bool relu = next is not null && readers.GetValueOrDefault(y) == 1 && graph.Output.All(o => o.Name != y);
                    if (relu)
                    {
                        fusedRelus.Add(next!);
                        y = next!.Output[0];
                    }

                    // Codes between two convolutions: the output's only reader is a Conv (and it is no graph output).
                    bool codesOut = inputRanges is not null && readers.GetValueOrDefault(y) == 1 && graph.Output.All(o => o.Name != y)
                        && graph.Node.Any(n => n.OpType == "Conv" && n.Input[0] == y);
                    network.AddConv(node, x, y, initializers, relu ? OutputClamp.Relu : OutputClamp.None, inputRanges, codesOut);
                    break;
                }
                case "Relu":
                    network.Unary(x, y, (s, d) => System.Numerics.Tensors.TensorPrimitives.Max(s, 0f, d));
                    break;
                case "Add" or "Sum" when node.Input.Count == 2 && !initializers.ContainsKey(node.Input[1]):
                    network.AddAdd(x, node.Input[1], y);
                    break;
                case "MaxPool" or "AveragePool":
                    network.AddPool(node, x, y, node.OpType == "MaxPool");
                    break;
                case "GlobalAveragePool":
                    network.AddGlobalAveragePool(x, y);
                    break;
                case "Flatten" or "Reshape" or "Identity" or "Dropout":
                {
                    int[] s = network._shapes[x];
                    network.Allocate(y, node.OpType is "Flatten" or "Reshape" ? [s[0], s.Skip(1).Aggregate(1, (a, b) => a * b)] : s);
                    network.Unary(x, y, (src, dst) => src.CopyTo(dst));
                    break;
                }
                case "Gemm":
                    network.AddGemm(node, x, y, initializers, inputRanges);
                    break;
                default:
                    throw new NotSupportedException($"LayerNetwork does not run {node.OpType} (node {node.Name}).");
            }
        }

        return network;
    }

    private string _pending = "";

    private void AddStep(Action<int, KernelThreadPool?> step)
    {
        _steps.Add(step);
        _names.Add(_pending);
    }

    private void Allocate(string name, int[] shape)
    {
        _shapes[name] = shape;
        _buffers[name] = new float[shape.Aggregate(1, (a, b) => a * b)];
    }

    private void Unary(string x, string y, SpanAction body)
    {
        if (!_buffers.ContainsKey(y)) Allocate(y, _shapes[x]);
        float[] source = _buffers[x], destination = _buffers[y];
        AddStep((_, _) => body(source, destination));
    }

    private delegate void SpanAction(ReadOnlySpan<float> source, Span<float> destination);

    private void AddConv(NodeProto node, string x, string y, Dictionary<string, TensorProto> initializers, OutputClamp clamp, Dictionary<string, (float Min, float Max)>? ranges,
        bool codesOut = false)
    {
        var w = initializers[node.Input[1]];
        int[] ws = Quant.Net.Onnx.TensorData.Shape(w);
        float[] weights = Quant.Net.Onnx.TensorData.ToFloats(w);
        float[] bias = node.Input.Count > 2 ? Quant.Net.Onnx.TensorData.ToFloats(initializers[node.Input[2]]) : new float[ws[0]];
        long[] pads = Ints(node, "pads", [0, 0, 0, 0]), strides = Ints(node, "strides", [1, 1]), dilations = Ints(node, "dilations", [1, 1]);
        int group = (int)Ints(node, "group", [1])[0];
        var shape = new Conv2dShape(ws[1] * group, ws[0], ws[2], ws[3], group, (int)strides[0], (int)strides[1],
            (int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3], (int)dilations[0], (int)dilations[1]);
        int[] input = _shapes[x];
        var (oh, ow) = shape.OutputSize(input[2], input[3]);
        Allocate(y, [1, ws[0], oh, ow]);
        float[] source = _buffers[x], destination = _buffers[y];
        int height = input[2], width = input[3];
        Layers++;
        if (ranges is null)
        {
            var conv = Conv2d.CreateFloat(shape, weights, bias);
            AddStep((threads, pool) => conv.Run(source, 1, height, width, destination, clamp, threads, pool));
        }
        else
        {
            var (min, max) = ranges[x];
            var conv = new QuantizedConv2d(shape, weights, bias, inputEncoding: QuantParams.FromRange(QuantScheme.UInt8Asymmetric, min, max));
            bool codesIn = _codes.TryGetValue(x, out var codesOfX);
            if (codesOut)
            {
                // The reader's input encoding, as it will compute it from the same calibrated range.
                var encoding = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, ranges[y].Min, ranges[y].Max);
                var codes = new byte[destination.Length];
                _codes[y] = (codes, encoding);
                if (codesIn) AddStep((threads, pool) => conv.Forward(codesOfX.Codes, 1, height, width, codes, encoding, clamp, threads, pool));
                else AddStep((threads, pool) => conv.Forward(source, 1, height, width, codes, encoding, clamp, threads, pool));
            }
            else if (codesIn)
            {
                AddStep((threads, pool) => conv.Forward(codesOfX.Codes, 1, height, width, destination, clamp, threads, pool));
            }
            else
            {
                AddStep((threads, pool) => conv.Forward(source, 1, height, width, destination, clamp, threads, pool));
            }
        }
    }

    private void AddGemm(NodeProto node, string x, string y, Dictionary<string, TensorProto> initializers, Dictionary<string, (float Min, float Max)>? ranges)
    {
        if (Quant.Net.Onnx.OpCatalog.Attribute(node, "transA", 0L) != 0) throw new NotSupportedException($"Gemm {node.Name} with transA.");
        bool transB = Quant.Net.Onnx.OpCatalog.Attribute(node, "transB", 0L) != 0;
        var w = initializers[node.Input[1]];
        int[] ws = Quant.Net.Onnx.TensorData.Shape(w);
        float[] weights = Quant.Net.Onnx.TensorData.ToFloats(w);
        int k = transB ? ws[1] : ws[0], n = transB ? ws[0] : ws[1];
        float[] bias = node.Input.Count > 2 ? Quant.Net.Onnx.TensorData.ToFloats(initializers[node.Input[2]]) : new float[n];
        var layout = transB ? WeightLayout.NByK : WeightLayout.KByN;
        Allocate(y, [1, n]);
        float[] source = _buffers[x], destination = _buffers[y];
        Layers++;
        if (ranges is null)
        {
            var packed = PackedFloatWeights.Pack(weights, k, n, layout);
            AddStep((threads, pool) => Fp32Gemm.Multiply(source, 1, packed, bias, destination, OutputClamp.None, threads, pool));
        }
        else
        {
            float[] nByK = transB ? weights : Quant.Net.Onnx.TensorData.Transpose(weights, k, n);
            var (min, max) = ranges[x];
            var linear = new QuantizedLinear(nByK, k, n, bias, inputEncoding: QuantParams.FromRange(QuantScheme.UInt8Asymmetric, min, max));
            AddStep((threads, pool) => linear.Forward(source, destination, OutputClamp.None, threads, pool));
        }
    }

    private void AddAdd(string a, string b, string y)
    {
        Allocate(y, _shapes[a]);
        float[] left = _buffers[a], right = _buffers[b], destination = _buffers[y];
        AddStep((_, _) => System.Numerics.Tensors.TensorPrimitives.Add(left, right, destination));
    }

    private void AddPool(NodeProto node, string x, string y, bool max)
    {
        bool includePad = Ints(node, "count_include_pad", [0])[0] != 0;
        long[] kernel = Ints(node, "kernel_shape", [1, 1]), strides = Ints(node, "strides", [1, 1]), pads = Ints(node, "pads", [0, 0, 0, 0]);
        int[] s = _shapes[x];
        int c = s[1], h = s[2], w = s[3], kh = (int)kernel[0], kw = (int)kernel[1], sh = (int)strides[0], sw = (int)strides[1];
        int pt = (int)pads[0], pl = (int)pads[1];
        int oh = ((h + pt + (int)pads[2] - kh) / sh) + 1, ow = ((w + pl + (int)pads[3] - kw) / sw) + 1;
        Allocate(y, [1, c, oh, ow]);
        float[] source = _buffers[x], destination = _buffers[y];
        if (max)
        {
            // Vectorized over a row: the element-wise maximum of the window's input rows (TensorPrimitives) into a
            // padded row buffer (−∞ in the padding), then the KW-wide window along it.
            float[] rowMax = new float[pl + w + (ow * sw) + kw];
            AddStep((_, _) =>
            {
                for (int ch = 0; ch < c; ch++)
                {
                    var plane = source.AsSpan(ch * h * w, h * w);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int first = Math.Max(0, (oy * sh) - pt), end = Math.Min(h, (oy * sh) - pt + kh);
                        Array.Fill(rowMax, float.NegativeInfinity);
                        var row = rowMax.AsSpan(pl, w);
                        for (int iy = first; iy < end; iy++) System.Numerics.Tensors.TensorPrimitives.Max(row, plane.Slice(iy * w, w), row);
                        var output = destination.AsSpan(((ch * oh) + oy) * ow, ow);
                        for (int ox = 0; ox < ow; ox++)
                        {
                            int ix = ox * sw;
                            float best = rowMax[ix];
                            for (int kx = 1; kx < kw; kx++) best = Math.Max(best, rowMax[ix + kx]);
                            output[ox] = best;
                        }
                    }
                }
            });
            return;
        }

        AddStep((_, _) =>
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        float best = float.NegativeInfinity, sum = 0;
                        int count = 0;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = (oy * sh) - pt + ky;
                            if ((uint)iy >= (uint)h) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = (ox * sw) - pl + kx;
                                if ((uint)ix >= (uint)w) continue;
                                float v = source[(((ch * h) + iy) * w) + ix];
                                best = Math.Max(best, v);
                                sum += v;
                                count++;
                            }
                        }

                        destination[(((ch * oh) + oy) * ow) + ox] = max ? best : sum / (includePad ? kh * kw : count);
                    }
                }
            }
        });
    }

    private void AddGlobalAveragePool(string x, string y)
    {
        int[] s = _shapes[x];
        int c = s[1], plane = s[2] * s[3];
        Allocate(y, [1, c, 1, 1]);
        float[] source = _buffers[x], destination = _buffers[y];
        AddStep((_, _) =>
        {
            for (int ch = 0; ch < c; ch++) destination[ch] = System.Numerics.Tensors.TensorPrimitives.Sum(source.AsSpan(ch * plane, plane)) / plane;
        });
    }

    private static long[] Ints(NodeProto node, string name, long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } attribute
            ? attribute.Ints.Count > 0 ? [.. attribute.Ints] : [attribute.I]
            : fallback;
}
