using System.IO.Compression;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// The real models and data behind the accuracy claims: the pretrained ResNet-18 from the NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 (CNTK export, opset 8) fed with natural photographs from Debian's
/// python3-skimage package (astronaut, chelsea, coffee, hubble_deep_field, motorcycle_left/right, retina, rocket, ihc:
/// public domain / CC0 / CC-BY images shipped by scikit-image), and Fashion-MNIST from Debian's dataset-fashion-mnist.
/// </summary>
internal static class RealModels
{
    public const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";
    public const string SkimageFolder = "/usr/lib/python3/dist-packages/skimage/data";

    private static readonly string[] Photos = ["astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "motorcycle_left.png",
        "motorcycle_right.png", "retina.jpg", "rocket.jpg", "ihc.png"];

    public static string ResNet18Path => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    private static string ResNetPreprocessPath => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>
    /// 224×224 crops of the photographs at several scales and positions (deterministic), preprocessed as ML.NET does for
    /// this model (RGB 0..255 → BGR → minus the mean image), as inputs for the ResNet-18. Even crops are for calibration,
    /// odd ones for evaluation, so the two sets never share a crop; another seed gives other crops.
    /// </summary>
    public static (List<InputTensor> Calibration, List<InputTensor> Evaluation) ResNetInputs(int cropsPerPhoto = 8, int seed = 2026)
    {
        var available = Photos.Select(p => Path.Combine(SkimageFolder, p)).Where(File.Exists).ToList();
        if (available.Count == 0)
        {
            throw new InvalidOperationException($"No photographs in {SkimageFolder}: apt-get install python3-skimage.");
        }

        using var preprocess = new ModelRunner(OnnxModel.Load(ResNetPreprocessPath));
        var toTensor = ImagePreprocessing.ForInput(new OnnxValueInfo("x", "FLOAT", [1, 3, 224, 224], [null, null, null, null]), [0f], [1f / 255f]);
        var calibration = new List<InputTensor>();
        var evaluation = new List<InputTensor>();
        var random = new Random(seed);
        foreach (var photo in available)
        {
            var image = ImagePreprocessing.Decode(photo);
            for (int c = 0; c < cropsPerPhoto; c++)
            {
                int side = (int)(Math.Min(image.Width, image.Height) * (0.45 + (0.55 * random.NextDouble())));
                int x0 = random.Next(image.Width - side + 1), y0 = random.Next(image.Height - side + 1);
                var crop = Crop(image, x0, y0, side);
                var rgb = toTensor(crop);
                var bgr = preprocess.Run(new Dictionary<string, InputTensor> { ["OriginalInput"] = rgb })["PreprocessedInput"];
                (c % 2 == 0 ? calibration : evaluation).Add(InputTensor.FromFloats(bgr.Data, bgr.Shape));
            }
        }

        return (calibration, evaluation);
    }

    private static DecodedImage Crop(DecodedImage image, int x0, int y0, int side)
    {
        var pixels = new byte[side * side * image.Channels];
        for (int y = 0; y < side; y++)
        {
            Array.Copy(image.Pixels, (((y0 + y) * image.Width) + x0) * image.Channels, pixels, y * side * image.Channels, side * image.Channels);
        }

        return new DecodedImage(side, side, image.Channels, pixels);
    }

    /// <summary>Fashion-MNIST images ([1, 1, 28, 28] in [0, 1]) and labels from the Debian package.</summary>
    public static (List<InputTensor> Images, byte[] Labels) FashionMnist(bool train, int count = int.MaxValue)
    {
        string prefix = train ? "train" : "t10k";
        var images = ReadGzip(Path.Combine(FashionMnistFolder, $"{prefix}-images-idx3-ubyte.gz"));
        var labels = ReadGzip(Path.Combine(FashionMnistFolder, $"{prefix}-labels-idx1-ubyte.gz"));
        int n = Math.Min(count, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(4)));
        var result = new List<InputTensor>(n);
        for (int i = 0; i < n; i++)
        {
            var data = new float[784];
            for (int p = 0; p < 784; p++)
            {
                data[p] = images[16 + (i * 784) + p] / 255f;
            }

            result.Add(InputTensor.FromFloats(data, 1, 1, 28, 28));
        }

        return (result, labels[8..(8 + n)]);
    }

    private static byte[] ReadGzip(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: apt-get install dataset-fashion-mnist.");
        }

        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gz.CopyTo(memory);
        return memory.ToArray();
    }
}
