using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace Quant.Net.Onnx;

/// <summary>Runs a model in ONNX Runtime (CPU provider and all graph optimizations unless configured otherwise) and returns its float outputs.</summary>
public sealed class ModelRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly string[] _inputNames;

    /// <summary>Creates a session for <paramref name="model"/>.</summary>
    /// <param name="model">The model to run.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads (0: its default, all cores).</param>
    /// <param name="extraOutputs">Intermediate float tensors to return as well.</param>
    /// <param name="arithmetic">The int8 arithmetic to evaluate with: this host's (default), exact int32 accumulation, or
    /// x86 AVX2's saturating pair sums simulated on any host.</param>
    /// <param name="configureSession">Adjusts ONNX Runtime's session options after ours: an execution provider
    /// (<c>o => o.AppendExecutionProvider_CUDA()</c>), threads, logging; null for ours alone (CPU, all graph optimizations).</param>
    /// <exception cref="OnnxFormatException">ONNX Runtime cannot load the model (the message carries its reason).</exception>
    public ModelRunner(OnnxModel model, int intraOpThreads = 0, IEnumerable<string>? extraOutputs = null, Int8Arithmetic arithmetic = Int8Arithmetic.Host,
        Action<SessionOptions>? configureSession = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        if (!Enum.IsDefined(arithmetic))
        {
            throw new ArgumentOutOfRangeException(nameof(arithmetic), arithmetic, "Unknown int8 arithmetic.");
        }

        var extras = extraOutputs?.ToList() ?? [];
        var runnable = extras.Count > 0 ? OrtSessions.WithOutputs(model, extras) : model;
        if (arithmetic == Int8Arithmetic.X86Avx2Saturating)
        {
            runnable = SaturatingPairSimulation.Rewrite(runnable);
        }

        Arithmetic = arithmetic;
        _options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = intraOpThreads };
        if (arithmetic != Int8Arithmetic.Host && Int8Host.Saturates)
        {
            // ONNX Runtime's switch to its exact u8u8 kernels wherever int8 weights could overflow an int16 pair sum.
            _options.AddSessionConfigEntry("session.x64quantprecision", "1");
        }
        if (intraOpThreads == 1)
        {
            _options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
            _options.InterOpNumThreads = 1;
        }

        configureSession?.Invoke(_options);
        Inputs = model.Inputs;
        _inputNames = [.. Inputs.Select(i => i.Name)];
        _session = OrtSessions.Create(runnable, _options);
        OutputNames = [.. runnable.Graph.Output.Select(o => o.Name)];
    }

    /// <summary>The int8 arithmetic this runner evaluates with.</summary>
    public Int8Arithmetic Arithmetic { get; }

    /// <summary>The model's inputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>Names of everything <see cref="Run"/> returns (model outputs, then extra outputs).</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Runs one sample (or batch) and returns every float output with its shape.</summary>
    /// <exception cref="InvalidDataException">The inputs do not match the model (names, types, shapes).</exception>
    public IReadOnlyDictionary<string, (float[] Data, int[] Shape)> Run(IReadOnlyDictionary<string, InputTensor> inputs)
    {
        OrtSessions.Validate(inputs, Inputs, 0);
        var values = _inputNames.Select(n => inputs[n].ToOrtValue()).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, _inputNames, values, [.. OutputNames]);
            var output = new Dictionary<string, (float[], int[])>(StringComparer.Ordinal);
            for (int i = 0; i < OutputNames.Count; i++)
            {
                var info = results[i].GetTensorTypeAndShape();
                if (info.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
                {
                    output[OutputNames[i]] = (results[i].GetTensorDataAsSpan<float>().ToArray(), [.. info.Shape.Select(d => (int)d)]);
                }
            }

            return output;
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime failed to run the model: {OrtSessions.Describe(e)}", e);
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>Median wall-clock time of one run on <paramref name="inputs"/> after warm-up runs.</summary>
    public TimeSpan MedianLatency(IReadOnlyDictionary<string, InputTensor> inputs, int runs = 50, int warmup = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        var values = _inputNames.Select(n => inputs[n].ToOrtValue()).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            string[] outputs = [.. _session.OutputNames];
            var times = new double[runs];
            for (int i = -warmup; i < runs; i++)
            {
                long start = Stopwatch.GetTimestamp();
                using (_session.Run(runOptions, _inputNames, values, outputs))
                {
                }

                if (i >= 0)
                {
                    times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            }

            Array.Sort(times);
            return TimeSpan.FromMilliseconds(times[runs / 2]);
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }
}
