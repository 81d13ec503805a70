using Microsoft.ML.OnnxRuntime;

namespace Quant.Net.Benchmarks;

/// <summary>One ONNX Runtime session (CPU provider, fixed thread count) with pre-bound input and output buffers, so a run measures the kernel, not allocation.</summary>
internal sealed class OrtSingleOp : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue _input;
    private readonly OrtValue _output;
    private readonly string[] _inputNames = ["x"];
    private readonly string[] _outputNames = ["y"];

    public OrtSingleOp(byte[] model, OrtValue input, OrtValue output, int threads = 1)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(model, options);
        _input = input;
        _output = output;
    }

    public void Run() => _session.Run(_runOptions, _inputNames, [_input], _outputNames, [_output]);

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
        _input.Dispose();
        _output.Dispose();
    }
}
