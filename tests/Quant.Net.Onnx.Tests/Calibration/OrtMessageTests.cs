using FluentAssertions;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>ONNX Runtime's errors reach users without C++ source paths and signatures.</summary>
public sealed class OrtMessageTests
{
    [Theory]
    [InlineData(
        "[ErrorCode:Fail] Load model from model.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:181 onnxruntime::Model::Model(onnx::ModelProto&&, const PathString&, const IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) Unsupported model IR version: 11, max supported IR version: 10",
        "Load model from model.onnx failed: Unsupported model IR version: 11, max supported IR version: 10")]
    [InlineData(
        "[ErrorCode:InvalidArgument] Non-zero status code returned while running Conv node. Name:'conv' Status Message: /onnxruntime_src/onnxruntime/core/framework/op_kernel.cc:83 virtual OrtValue* onnxruntime::OpKernelContext::OutputMLValue(int, const onnxruntime::TensorShape&) status.IsOK() was false. Shape mismatch attempting to re-use buffer.",
        "Non-zero status code returned while running Conv node. Name:'conv' Status Message: virtual OrtValue* status.IsOK() was false. Shape mismatch attempting to re-use buffer.")]
    [InlineData(
        "Non-zero status code returned while running Conv node. Name:'c' Status Message: nchwc_ops.cc:166 Compute NCHWc Conv group must be greater than 0.",
        "Non-zero status code returned while running Conv node. Name:'c' Status Message: Compute NCHWc Conv group must be greater than 0.")]
    [InlineData("Plain message without location.", "Plain message without location.")]
    public void Source_locations_and_signatures_are_dropped(string message, string expected)
    {
        OrtSessions.Describe(message).Should().Be(expected);
    }

    [Fact]
    public void A_model_onnx_runtime_refuses_gives_its_reason_without_internals()
    {
        var g = new Support.GraphBuilder(seed: 1);
        g.Output(g.Node("Relu", [g.Input("x", 1, 4)], "y"), 1, 4);
        var model = g.Build();
        model.Proto.IrVersion = 99;
        var e = FluentActions.Invoking(() => new ModelRunner(model)).Should().Throw<Exception>().Which;
        e.Message.Should().NotContain(".cc:").And.NotContain("onnxruntime::");
    }
}
