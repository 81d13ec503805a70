// Quantization-aware training with Quant.Net in a hand-written training loop: a 784-256-128-10 MLP on Fashion-MNIST,
// trained in FP32, then fine-tuned with fake-quantized weights and activations (FakeQuantizer: observe, then learn
// scales and zero points with LSQ), compared with post-training quantization at the same bit widths on the full 10k
// test set. The training loop (forward, backward, Adam) is the sample's; the library supplies the quantizers and the
// FP32 GEMM. The QAT network is then exported to ONNX, turned into a QDQ model with the encodings it learned (no
// calibration) and run in ONNX Runtime, and its encodings are written in AIMET's format.
// Data: Debian's dataset-fashion-mnist (Fashion-MNIST, (c) Zalando SE, MIT). Arguments: [DATASET_FOLDER]
// [--training-images N] (a prefix of the 60,000, for a quick run) [--output DIR] (default: a new temporary folder).
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Quant.Net;
using Quant.Net.Kernels;
using Quant.Net.Observers;
using Quant.Net.Onnx;
using Quant.Net.Training;

string folder = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "/usr/share/datasets/fashion-mnist";
string output = Option("--output") ?? Directory.CreateTempSubdirectory("qat-fashion-mnist-").FullName;
Directory.CreateDirectory(output);
int fp32Epochs = 8, qatEpochs = 3;
var (trainX, trainY) = Load(folder, "train", int.Parse(Option("--training-images") ?? "60000", CultureInfo.InvariantCulture));
var (testX, testY) = Load(folder, "t10k", 10_000);
Console.WriteLine($"Fashion-MNIST: {trainY.Length} training, {testY.Length} test images");

var sw = Stopwatch.StartNew();
var fp32 = new Mlp([784, 256, 128, 10], seed: 1);
for (int epoch = 0; epoch < fp32Epochs; epoch++)
{
    fp32.TrainEpoch(trainX, trainY, learningRate: epoch < 6 ? 1e-3f : 3e-4f, seed: epoch);
}

double fp32Accuracy = fp32.Accuracy(testX, testY);
// The fair FP32 reference for QAT: the same extra epochs at the same learning rates, without quantizers.
var longer = fp32.Clone();
for (int epoch = 0; epoch < qatEpochs; epoch++)
{
    longer.TrainEpoch(trainX, trainY, learningRate: epoch < qatEpochs - 1 ? 2e-4f : 5e-5f, seed: 100 + epoch);
}

double longerAccuracy = longer.Accuracy(testX, testY);
Console.WriteLine($"FP32: {fp32Accuracy:F2}% after {fp32Epochs} epochs, {longerAccuracy:F2}% after {qatEpochs} more ({sw.Elapsed.TotalSeconds:F0} s)");
Console.WriteLine("| bits | PTQ (nearest, min/max) | QAT (LSQ, " + qatEpochs + " epochs) | QAT deployed (QDQ in ONNX Runtime) | FP32 | FP32 + " + qatEpochs + " epochs |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
var testInputs = Enumerable.Range(0, testY.Length).Select(i => InputTensor.FromFloats(testX.AsSpan(i * 784, 784).ToArray(), 1, 784)).ToList();
foreach (var (weightBits, activationBits) in new[] { (4, 4), (2, 8) })
{
    var ptq = fp32.Clone();
    ptq.Quantize(weightBits, activationBits);
    ptq.Calibrate(trainX, 2000);
    ptq.FreezeQuantizers();
    double ptqAccuracy = ptq.Accuracy(testX, testY);

    var qat = fp32.Clone();
    qat.Quantize(weightBits, activationBits);      // fake quantizers for every layer's input and weights
    qat.Calibrate(trainX, 2000);                   // observing phase: forward passes over 2,000 images set the ranges
    qat.StartLearning();                           // learning phase: scales and zero points train with the weights (LSQ)
    for (int epoch = 0; epoch < qatEpochs; epoch++)
    {
        qat.TrainEpoch(trainX, trainY, learningRate: epoch < qatEpochs - 1 ? 2e-4f : 5e-5f, seed: 100 + epoch);
    }

    qat.FreezeQuantizers();
    double qatAccuracy = qat.Accuracy(testX, testY);

    // Deploy: the FP32 ONNX model of the trained network and its quantizers keyed by the tensor each one simulated
    // (weights w0, w1, w2; layer inputs x0, x1, x2) → a QDQ model with exactly the learned encodings, no calibration.
    var (fp32Model, quantizers) = qat.Export();
    var deployed = QatExport.Deploy(fp32Model, quantizers);   // QuantizationResult: QDQ model + encodings
    deployed.Model.Save(Path.Combine(output, $"mlp-w{weightBits}a{activationBits}.qdq.onnx"));
    AimetEncodingsFile.Save(deployed, Path.Combine(output, $"mlp-w{weightBits}a{activationBits}.encodings"), AimetEncodingsVersion.Version100);
    double deployedAccuracy = ModelComparer.Top1Accuracy(deployed.Model, testInputs, testY, 500);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| W{weightBits}A{activationBits} | {ptqAccuracy:F2}% | {qatAccuracy:F2}% | {100 * deployedAccuracy:F2}% | {fp32Accuracy:F2}% | {longerAccuracy:F2}% |"));
}

Console.WriteLine($"total {sw.Elapsed.TotalSeconds:F0} s; QDQ models and AIMET encodings in {output}");
return 0;

string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static (float[] Images, int[] Labels) Load(string folder, string prefix, int limit)
{
    byte[] Read(string name)
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(folder, name)), CompressionMode.Decompress);
        using var m = new MemoryStream();
        gz.CopyTo(m);
        return m.ToArray();
    }

    var images = Read($"{prefix}-images-idx3-ubyte.gz");
    var labels = Read($"{prefix}-labels-idx1-ubyte.gz");
    int n = Math.Min(labels.Length - 8, limit);
    return ([.. images.Skip(16).Take(n * 784).Select(b => b / 255f)], [.. labels.Skip(8).Take(n).Select(b => (int)b)]);
}

/// <summary>A fully connected ReLU network with optional fake-quantized weights and inputs per layer.</summary>
internal sealed class Mlp
{
    private readonly int[] _sizes;
    private readonly float[][] _w, _b, _mw, _vw, _mb, _vb;
    private readonly LayerQuantizers?[] _quantizers;
    private AdamState[] _qState = [];
    private int _step;

    public Mlp(int[] sizes, int seed)
    {
        _sizes = sizes;
        int layers = sizes.Length - 1;
        var random = new Random(seed);
        _w = new float[layers][];
        _b = new float[layers][];
        _mw = new float[layers][];
        _vw = new float[layers][];
        _mb = new float[layers][];
        _vb = new float[layers][];
        _quantizers = new LayerQuantizers?[layers];
        for (int l = 0; l < layers; l++)
        {
            int fanIn = sizes[l], fanOut = sizes[l + 1];
            float limit = MathF.Sqrt(6f / fanIn);
            _w[l] = [.. Enumerable.Range(0, fanIn * fanOut).Select(_ => (float)((random.NextDouble() * 2) - 1) * limit)];
            _b[l] = new float[fanOut];
            _mw[l] = new float[_w[l].Length];
            _vw[l] = new float[_w[l].Length];
            _mb[l] = new float[fanOut];
            _vb[l] = new float[fanOut];
        }
    }

    private Mlp(Mlp other)
    {
        _sizes = other._sizes;
        _w = [.. other._w.Select(a => (float[])a.Clone())];
        _b = [.. other._b.Select(a => (float[])a.Clone())];
        _mw = [.. other._w.Select(a => new float[a.Length])];
        _vw = [.. other._w.Select(a => new float[a.Length])];
        _mb = [.. other._b.Select(a => new float[a.Length])];
        _vb = [.. other._b.Select(a => new float[a.Length])];
        _quantizers = new LayerQuantizers?[_w.Length];
    }

    public Mlp Clone() => new(this);

    /// <summary>The network as an FP32 ONNX model (Gemm + Relu) and its quantizers keyed by the tensors they simulate.</summary>
    public (OnnxModel Model, Dictionary<string, FakeQuantizer> Quantizers) Export()
    {
        var builder = new OnnxGraphBuilder(21, "fashion_mlp").AddInput("x0", null, _sizes[0]).AddOutput("logits", null, _sizes[^1]);
        var quantizers = new Dictionary<string, FakeQuantizer>(StringComparer.Ordinal);
        for (int l = 0; l < _w.Length; l++)
        {
            string input = $"x{l}", output = l == _w.Length - 1 ? "logits" : $"pre{l}";
            builder.AddInitializer($"w{l}", _w[l], _sizes[l + 1], _sizes[l]).AddInitializer($"b{l}", _b[l], _sizes[l + 1])
                .AddNode("Gemm", [input, $"w{l}", $"b{l}"], [output], new Dictionary<string, object> { ["transB"] = 1L }, $"fc{l}");
            if (l < _w.Length - 1)
            {
                builder.AddNode("Relu", [output], [$"x{l + 1}"], name: $"relu{l}");
            }

            if (_quantizers[l] is { } q)
            {
                quantizers[$"w{l}"] = q.Weights;
                quantizers[input] = q.Input;
            }
        }

        return (builder.Build(), quantizers);
    }

    /// <summary>Adds fake quantizers to every layer (weights and input; the first layer's input too).</summary>
    public void Quantize(int weightBits, int activationBits)
    {
        for (int l = 0; l < _w.Length; l++)
        {
            _quantizers[l] = new LayerQuantizers(weightBits, activationBits, _sizes[l], _sizes[l + 1]);
        }
    }

    /// <summary>Observing phase: forward passes over <paramref name="count"/> training images set the ranges.</summary>
    public void Calibrate(float[] x, int count)
    {
        for (int start = 0; start < count; start += 500)
        {
            Forward(x.AsSpan(start * 784, Math.Min(500, count - start) * 784).ToArray(), Math.Min(500, count - start), null);
        }
    }

    public void StartLearning()
    {
        foreach (var q in _quantizers)
        {
            q?.StartLearning();
        }

        _qState = [.. Quantizers().Select(q => new AdamState(q.Parameters.Length))];
    }

    public void FreezeQuantizers()
    {
        foreach (var q in _quantizers)
        {
            q?.Freeze();
        }
    }

    private IEnumerable<FakeQuantizer> Quantizers() => _quantizers.SelectMany(q => q is null ? [] : new[] { q.Input, q.Weights });

    /// <summary>Forward pass; with <paramref name="cache"/> keeps what backward needs.</summary>
    private float[] Forward(float[] input, int batch, List<(float[] X, float[] Xq, float[] Wq, float[] Pre)>? cache)
    {
        var x = input;
        for (int l = 0; l < _w.Length; l++)
        {
            int fanIn = _sizes[l], fanOut = _sizes[l + 1];
            float[] xq = x, wq = _w[l];
            if (_quantizers[l] is { } q)
            {
                (xq, wq) = (new float[x.Length], new float[wq.Length]);
                q.Forward(x, _w[l], batch, xq, wq);
            }

            var pre = new float[batch * fanOut];
            Fp32Gemm.Multiply(xq, batch, PackedFloatWeights.Pack(wq, fanIn, fanOut, WeightLayout.NByK), _b[l], pre);
            cache?.Add((x, xq, wq, pre));
            x = l < _w.Length - 1 ? [.. pre.Select(v => Math.Max(v, 0f))] : pre;
        }

        return x;
    }

    public void TrainEpoch(float[] images, int[] labels, float learningRate, int seed)
    {
        const int Batch = 128;
        int n = labels.Length;
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        var x = new float[Batch * 784];
        for (int start = 0; start + Batch <= n; start += Batch)
        {
            for (int i = 0; i < Batch; i++)
            {
                Array.Copy(images, order[start + i] * 784, x, i * 784, 784);
            }

            var cache = new List<(float[] X, float[] Xq, float[] Wq, float[] Pre)>();
            var logits = Forward(x, Batch, cache);
            // Softmax cross-entropy gradient, averaged over the batch.
            var dy = new float[logits.Length];
            for (int i = 0; i < Batch; i++)
            {
                var row = logits.AsSpan(i * 10, 10);
                float max = row.ToArray().Max(), sum = 0;
                for (int c = 0; c < 10; c++)
                {
                    sum += MathF.Exp(row[c] - max);
                }

                for (int c = 0; c < 10; c++)
                {
                    dy[(i * 10) + c] = ((MathF.Exp(row[c] - max) / sum) - (c == labels[order[start + i]] ? 1f : 0f)) / Batch;
                }
            }

            Backward(cache, dy, Batch, learningRate);
        }
    }

    private void Backward(List<(float[] X, float[] Xq, float[] Wq, float[] Pre)> cache, float[] dy, int batch, float learningRate)
    {
        _step++;
        for (int l = _w.Length - 1; l >= 0; l--)
        {
            int fanIn = _sizes[l], fanOut = _sizes[l + 1];
            var (x, xq, wq, pre) = cache[l];
            if (l < _w.Length - 1)
            {
                for (int i = 0; i < dy.Length; i++)
                {
                    dy[i] = pre[i] > 0 ? dy[i] : 0f;
                }
            }

            // dW = dYᵀ · Xq  [out, in];  db = Σ dY;  dXq = dY · Wq  [batch, in].
            var dyT = new float[fanOut * batch];
            var db = new float[fanOut];
            for (int i = 0; i < batch; i++)
            {
                for (int o = 0; o < fanOut; o++)
                {
                    dyT[(o * batch) + i] = dy[(i * fanOut) + o];
                    db[o] += dy[(i * fanOut) + o];
                }
            }

            var dwq = new float[fanOut * fanIn];
            Fp32Gemm.Multiply(dyT, fanOut, PackedFloatWeights.Pack(xq, batch, fanIn, WeightLayout.KByN), [], dwq);
            var dxq = new float[batch * fanIn];
            if (l > 0)
            {
                Fp32Gemm.Multiply(dy, batch, PackedFloatWeights.Pack(wq, fanOut, fanIn, WeightLayout.KByN), [], dxq);
            }

            float[] dw = dwq, dx = dxq;
            if (_quantizers[l] is { } q)
            {
                (dw, dx) = (new float[dwq.Length], new float[dxq.Length]);
                q.Backward(x, _w[l], batch, dxq, dwq, dx, dw);
            }

            Adam(_w[l], dw, _mw[l], _vw[l], learningRate);
            Adam(_b[l], db, _mb[l], _vb[l], learningRate);
            dy = dx;
        }

        // The quantizers' parameters (scale and zero point, or min and max) take Adam steps too, at 10× the learning rate.
        foreach (var (q, state) in Quantizers().Zip(_qState))
        {
            Adam(q.Parameters[0], q.Gradients[0], state.M1, state.V1, learningRate * 10);   // scale (or min)
            Adam(q.Parameters[1], q.Gradients[1], state.M2, state.V2, learningRate * 10);   // zero point (or max)
        }
    }

    private void Adam(float[] p, float[] g, float[] m, float[] v, float learningRate)
    {
        const float B1 = 0.9f, B2 = 0.999f, Eps = 1e-8f;
        float c1 = 1 - MathF.Pow(B1, _step), c2 = 1 - MathF.Pow(B2, _step);
        for (int i = 0; i < p.Length; i++)
        {
            m[i] = (B1 * m[i]) + ((1 - B1) * g[i]);
            v[i] = (B2 * v[i]) + ((1 - B2) * g[i] * g[i]);
            p[i] -= learningRate * (m[i] / c1) / (MathF.Sqrt(v[i] / c2) + Eps);
        }
    }

    public double Accuracy(float[] images, int[] labels)
    {
        int correct = 0;
        for (int start = 0; start < labels.Length; start += 500)
        {
            int batch = Math.Min(500, labels.Length - start);
            var logits = Forward(images.AsSpan(start * 784, batch * 784).ToArray(), batch, null);
            for (int i = 0; i < batch; i++)
            {
                var row = logits.AsSpan(i * 10, 10);
                int best = 0;
                for (int c = 1; c < 10; c++)
                {
                    best = row[c] > row[best] ? c : best;
                }

                correct += best == labels[start + i] ? 1 : 0;
            }
        }

        return 100.0 * correct / labels.Length;
    }

    private sealed class AdamState(int n)
    {
        public float[] M1 { get; } = new float[n];
        public float[] V1 { get; } = new float[n];
        public float[] M2 { get; } = new float[n];
        public float[] V2 { get; } = new float[n];
    }
}

/// <summary>The fake quantizers of one fully connected layer: its input (per tensor) and its weights (per output channel).</summary>
internal sealed class LayerQuantizers(int weightBits, int activationBits, int inFeatures, int outFeatures)
{
    public FakeQuantizer Weights { get; } = new(new QuantScheme(weightBits, true, true, false, QuantGranularity.PerChannel(0)), RangeLearning.Lsq,
        new MinMaxObserver(channelAxis: 0));
    public FakeQuantizer Input { get; } = new(new QuantScheme(activationBits, false, false), RangeLearning.Lsq);   // moving-average observer by default

    /// <summary>After the observing phase (forward passes set the ranges): scales and zero points get gradients too.</summary>
    public void StartLearning()
    {
        Input.StartLearning();
        Weights.StartLearning();
    }

    /// <summary>xq = q(x) [batch, in] and wq = q(W) [out, in]; the layer computes xq · wqᵀ + b with them.</summary>
    public void Forward(float[] x, float[] w, int batch, float[] xq, float[] wq)
    {
        Input.Forward(x, [batch, inFeatures], xq);
        Weights.Forward(w, [outFeatures, inFeatures], wq);
    }

    /// <summary>Straight through inside the range (zero where values saturate): dL/dxq → dL/dx, dL/dwq → dL/dW.</summary>
    public void Backward(float[] x, float[] w, int batch, float[] dxq, float[] dwq, float[] dx, float[] dw)
    {
        Input.ZeroGradients();
        Input.Backward(x, [batch, inFeatures], dxq, dx);
        Weights.ZeroGradients();
        Weights.Backward(w, [outFeatures, inFeatures], dwq, dw);   // dW for the weights, Gradients for (scale, zero point)
    }

    /// <summary>Fixed encodings from now on: ToEncoding() gives what QatExport writes (QDQ model, AIMET encodings).</summary>
    public void Freeze()
    {
        Input.Freeze();
        Weights.Freeze();
    }
}
