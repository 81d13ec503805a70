using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class EvaluationTests
{
    [Fact]
    public void Comparison_reports_output_error_per_layer_error_size_and_latency()
    {
        var g = new GraphBuilder(seed: 12);
        string x = g.Input("x", 0, 3, 8, 8);
        string h = g.Node("Relu", [g.Conv(g.Node("Relu", [g.Conv(x, 3, 16)]), 16, 16)]);
        g.Output(g.Gemm(g.Node("Flatten", [g.Node("GlobalAveragePool", [h])]), 16, 10, output: "y"), 0, 10);
        var model = g.Build();
        var data = Samples.For("x", [1, 3, 8, 8], 16);
        var result = OnnxQuantizer.Quantize(model, data);
        var progress = new List<int>();
        var report = ModelComparer.Compare(model, result, data, latencyRuns: 5, progress: new Progress(progress));

        report.Samples.Should().Be(16);
        progress.Should().Equal(Enumerable.Range(1, 16));
        ModelComparer.Compare(model, result, data, latencyRuns: 0, perLayer: false).Samples.Should().Be(16, "the count does not depend on a progress receiver");
        var y = report.Outputs.Single();
        y.Name.Should().Be("y");
        y.SqnrDecibels.Should().BeInRange(15, 60);
        y.CosineSimilarity.Should().BeGreaterThan(0.99).And.BeLessThanOrEqualTo(1.0000001);
        y.Top1Agreement.Should().BeInRange(0.5, 1.0);
        report.Layers.Select(l => l.Tensor).Should().HaveCountGreaterThanOrEqualTo(4).And.NotContain("x");
        report.Layers.Should().OnlyContain(l => l.SqnrDecibels > 10 && l.CosineSimilarity > 0.95);
        report.QuantizedModelBytes.Should().BeLessThan(report.Fp32ModelBytes);
        report.Fp32Latency.Should().BePositive();
        report.QuantizedLatency.Should().BePositive();
    }

    [Fact]
    public void Top1_accuracy_compares_the_arg_max_with_the_labels()
    {
        var g = new GraphBuilder();
        g.Output(g.Node("Relu", [g.Input("x", 0, 4)], "y"), 0, 4);
        var model = g.Build();
        var samples = Enumerable.Range(0, 10).Select(i => InputTensor.FromFloats([.. Enumerable.Range(0, 4).Select(c => c == i % 4 ? 1f : 0f)], 1, 4)).ToList();
        ModelComparer.Top1Accuracy(model, samples, [.. Enumerable.Range(0, 10).Select(i => i % 4)], batchSize: 3).Should().Be(1);
        ModelComparer.Top1Accuracy(model, samples, [.. Enumerable.Range(0, 10).Select(i => i < 5 ? i % 4 : (i + 1) % 4)]).Should().Be(0.5);
        FluentActions.Invoking(() => ModelComparer.Top1Accuracy(model, samples, [1, 2])).Should().Throw<ArgumentException>().WithMessage("*10 samples and 2 labels*");
    }

    [Fact]
    public void Top1_accuracy_reads_a_folder_of_class_subfolders_as_labelled_data_and_session_options_pass_through()
    {
        var g = new GraphBuilder();
        g.Output(g.Node("Relu", [g.Input("x", 0, 4)], "y"), 0, 4);
        var model = g.Build();
        var folder = Directory.CreateTempSubdirectory("labelled-").FullName;
        try
        {
            // Classes in ordinal name order: "a-class" is label 0, "b-class" 1, ... ; samples of class c peak at c,
            // except one sample of "c-class" that peaks at 0 (9 of 10 right).
            string[] classes = ["a-class", "b-class", "c-class", "d-class"];
            int n = 0;
            foreach (var (name, c) in classes.Select((name, c) => (name, c)))
            {
                Directory.CreateDirectory(Path.Combine(folder, name));
                for (int i = 0; i < (c == 2 ? 4 : 2); i++, n++)
                {
                    int peak = c == 2 && i == 3 ? 0 : c;
                    NpyFile.Write(Path.Combine(folder, name, $"s{i}.npy"), [.. Enumerable.Range(0, 4).Select(k => k == peak ? 1f : 0f)], [1, 4]);
                }
            }

            var data = LabelledData.OpenFolder(folder, model);
            data.Classes.Should().Equal(classes);
            data.Labels.Should().Equal(0, 0, 1, 1, 2, 2, 2, 2, 3, 3);
            data.Samples.Count.Should().Be(10);
            int configured = 0;
            ModelComparer.Top1Accuracy(model, data, batchSize: 3, configureSession: o => { configured++; o.LogSeverityLevel = Microsoft.ML.OnnxRuntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR; })
                .Should().Be(0.9);
            configured.Should().Be(1, "the session options hook runs for the evaluation's session");
            ModelScore.Top1Accuracy(data).Evaluate(model).Should().Be(0.9);
            ModelScore.Top1Accuracy(data).IsAccuracy.Should().BeTrue();

            Directory.CreateDirectory(Path.Combine(folder, "e-empty"));
            FluentActions.Invoking(() => LabelledData.OpenFolder(folder, model)).Should().Throw<InvalidDataException>().WithMessage("*e-empty*");
            FluentActions.Invoking(() => LabelledData.OpenFolder(Path.Combine(folder, "a-class"), model)).Should().Throw<InvalidDataException>().WithMessage("*no class subfolders*");
            FluentActions.Invoking(() => new LabelledData(InMemoryCalibrationData.ForSingleInput("x", [InputTensor.FromFloats([1f, 0, 0, 0], 1, 4)]), [0, 1]))
                .Should().Throw<ArgumentException>().WithParameterName("labels").WithMessage("*1 samples and 2 labels*");
            FluentActions.Invoking(() => new LabelledData(InMemoryCalibrationData.ForSingleInput("x", [InputTensor.FromFloats([1f, 0, 0, 0], 1, 4)]), [5], ["only"]))
                .Should().Throw<ArgumentException>().WithMessage("*Label 0 is 5*1 class*");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class Progress(List<int> into) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value) => into.Add(value.Done);
    }
}
