using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Quant.Net.Onnx.Protobuf;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>Writers of the fuzz suite's input files: tiny models, .npy files with any header, images, links, FIFOs.</summary>
internal static class FuzzFiles
{
    /// <summary>The image-shaped input every calibration case feeds: x [1, 3, 8, 8].</summary>
    public static readonly int[] InputShape = [1, 3, 8, 8];

    /// <summary>Conv(3→4) → BatchNorm → Relu → Flatten → Gemm(256→5): y [1, 5]. Initializers: w0/b0 (Conv), gamma1/beta1/mean1/var1, w4/b4 (Gemm).</summary>
    public static OnnxModel Cnn(int seed)
    {
        var g = new GraphBuilder(seed: seed);
        string h = g.Node("Relu", [g.BatchNorm(g.Conv(g.Input("x", InputShape.Select(d => (long)d).ToArray()), 3, 4), 4)]);
        g.Output(g.Gemm(g.Node("Flatten", [h], attributes: GraphBuilder.Int("axis", 1)), 256, 5, output: "y"), 1, 5);
        return g.Build();
    }

    /// <summary>x [1, 4, 32] → MatMul [32, 32] → Relu → MatMul [32, 32]: a model for <c>weight-only</c>.</summary>
    public static OnnxModel Mlp(int seed)
    {
        var g = new GraphBuilder(seed: seed);
        string x = g.Input("x", 1, 4, 32);
        string h = g.Node("Relu", [g.Node("MatMul", [x, g.Random("w_up", 0.3f, 32, 32)])]);
        g.Output(g.Node("MatMul", [h, g.Random("w_down", 0.3f, 32, 32)], "y"), 1, 4, 32);
        return g.Build();
    }

    /// <summary>Writes a model's protobuf as it is (no check, no external data): malformed models reach the file unchanged.</summary>
    public static void WriteProto(string path, ModelProto proto) => File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));

    /// <summary>Random floats in [-1, 1).</summary>
    public static float[] Floats(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1))];

    /// <summary>A valid float32 .npy sample of <paramref name="shape"/>.</summary>
    public static void Npy(string path, Random random, params int[] shape) => NpyFile.Write(path, Floats(random, shape.Aggregate(1, (a, b) => a * b)), shape);

    /// <summary>
    /// A .npy file with the given header text (the dictionary) and payload, version <paramref name="major"/>; the header
    /// length field is written as given (<paramref name="headerLength"/>) or computed, so lies are possible.
    /// </summary>
    public static byte[] NpyBytes(string header, ReadOnlySpan<byte> payload, int major = 1, long? headerLength = null)
    {
        int prefix = major == 1 ? 10 : 12;
        int padded = ((prefix + header.Length + 1 + 63) / 64 * 64) - prefix;
        string text = header.PadRight(padded - 1) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        long length = headerLength ?? text.Length;
        if (major == 1)
        {
            bytes.AddRange(BitConverter.GetBytes((ushort)length));
        }
        else
        {
            bytes.AddRange(BitConverter.GetBytes((uint)length));
        }

        bytes.AddRange(Encoding.Latin1.GetBytes(text));
        bytes.AddRange(payload.ToArray());
        return [.. bytes];
    }

    /// <summary>The header dictionary of a .npy file.</summary>
    public static string NpyHeader(string descr, string shape, bool fortran = false) => $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({shape}), }}";

    /// <summary>Little-endian float32 bytes of <paramref name="values"/>.</summary>
    public static byte[] FloatBytes(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    /// <summary>A valid 8-bit RGB PNG (stored with zlib, CRCs computed).</summary>
    public static byte[] Png(int width, int height, Random random)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);   // filter: none
            for (int x = 0; x < width * 3; x++)
            {
                raw.WriteByte((byte)random.Next(256));
            }
        }

        var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            raw.Position = 0;
            raw.CopyTo(z);
        }

        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        byte[] body = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(body);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
        png.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>A 24-bit BMP whose header claims <paramref name="width"/> × <paramref name="height"/> (the pixel bytes may not follow).</summary>
    public static byte[] BmpHeader(int width, int height, int pixelBytes)
    {
        var bytes = new byte[54 + pixelBytes];
        bytes[0] = (byte)'B';
        bytes[1] = (byte)'M';
        BitConverter.TryWriteBytes(bytes.AsSpan(2), bytes.Length);
        BitConverter.TryWriteBytes(bytes.AsSpan(10), 54);
        BitConverter.TryWriteBytes(bytes.AsSpan(14), 40);
        BitConverter.TryWriteBytes(bytes.AsSpan(18), width);
        BitConverter.TryWriteBytes(bytes.AsSpan(22), height);
        BitConverter.TryWriteBytes(bytes.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(bytes.AsSpan(28), (short)24);
        return bytes;
    }

    /// <summary>Makes a FIFO (named pipe) with mkfifo; false where that is not possible.</summary>
    public static bool MakeFifo(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return false;
        }

        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mkfifo") { ArgumentList = { path }, UseShellExecute = false, RedirectStandardError = true })!;
        process.WaitForExit(10_000);
        return process.ExitCode == 0;
    }

    /// <summary>Opens and closes the writer end of a FIFO without blocking, so a reader blocked in open returns (with end of file).</summary>
    public static void ReleaseFifo(string path)
    {
        var release = Task.Run(() =>
        {
            try
            {
                using var writer = new FileStream(path, FileMode.Open, FileAccess.Write);
            }
            catch (IOException)
            {
            }
        });
        release.Wait(TimeSpan.FromSeconds(2));
    }

    /// <summary>True when this process cannot be kept from reading a file by its permission bits (root).</summary>
    public static bool PermissionsAreIgnored(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        string probe = Path.Combine(folder, ".permission-probe");
        File.WriteAllText(probe, "x");
        try
        {
            File.SetUnixFileMode(probe, UnixFileMode.None);
            try
            {
                File.ReadAllBytes(probe);
                return true;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }
        finally
        {
            File.SetUnixFileMode(probe, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Delete(probe);
        }
    }
}
