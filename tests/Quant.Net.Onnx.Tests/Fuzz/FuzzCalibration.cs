using System.Text;
using Quant.Net.Onnx.Tests.Onnx;

namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>One way to make the calibration folder of a case: its name, whether success would be wrong, and the writer (returns the path given to --calibration).</summary>
internal sealed record CalibrationKind(string Name, FuzzExpect Expect, Func<CaseFolder, string> Write, bool ChildProcess = false);

/// <summary>
/// Calibration folders for the fuzz CNN's input x [1, 3, 8, 8]: valid ones (npy, raw, PNG, BMP), and empty, missing,
/// misnamed, wrongly shaped, non-finite, zero-element, damaged, endless (links to devices, FIFOs) and hostile ones.
/// </summary>
internal static class FuzzCalibration
{
    private static readonly float[] Sample = new float[3 * 8 * 8];

    /// <summary>Every calibration kind; valid ones first.</summary>
    public static IReadOnlyList<CalibrationKind> All()
    {
        var kinds = new List<CalibrationKind>
        {
            new("npy samples named x.<id>.npy", FuzzExpect.Success, c => Folder(c, (d, i) => FuzzFiles.Npy(Path.Combine(d, $"x.{i}.npy"), c.Random, FuzzFiles.InputShape))),
            new("npy samples with any names", FuzzExpect.Success, c => Folder(c, (d, i) => FuzzFiles.Npy(Path.Combine(d, $"s{i}.npy"), c.Random, FuzzFiles.InputShape))),
            new("raw float32 samples", FuzzExpect.Success, c => Folder(c, (d, i) => File.WriteAllBytes(Path.Combine(d, $"x.{i}.raw"), FuzzFiles.FloatBytes(FuzzFiles.Floats(c.Random, 192))))),
            new("PNG images", FuzzExpect.Success, c => Folder(c, (d, i) => File.WriteAllBytes(Path.Combine(d, $"img{i}.png"), FuzzFiles.Png(5 + i, 9, c.Random)))),
            new("BMP images", FuzzExpect.Success, c => Folder(c, (d, i) => Bmp.Write(Path.Combine(d, $"img{i}.bmp"), 12, 7, (x, y) => ((byte)(x * 20), (byte)(y * 30), (byte)i)))),
            new("npy sample names with spaces, unicode and markup", FuzzExpect.Success, c => Folder(c, (d, i) => FuzzFiles.Npy(Path.Combine(d, $"[red]é {i} [bold.npy"), c.Random, FuzzFiles.InputShape))),
            new("a folder named like a sample beside a sample", FuzzExpect.Anything, c => Folder(c, (d, i) =>
            {
                FuzzFiles.Npy(Path.Combine(d, $"x.{i}.npy"), c.Random, FuzzFiles.InputShape);
                Directory.CreateDirectory(Path.Combine(d, $"x.{i}b.npy"));
            })),
            new("a 1x1 image and a 1000x1 image", FuzzExpect.Anything, c => Folder(c, 1, (d, _) =>
            {
                File.WriteAllBytes(Path.Combine(d, "tiny.png"), FuzzFiles.Png(1, 1, c.Random));
                File.WriteAllBytes(Path.Combine(d, "wide.png"), FuzzFiles.Png(1000, 1, c.Random));
            })),
            new("empty folder", FuzzExpect.RefuseOrWarn, c => c.Folder("cal")),
            new("missing folder", FuzzExpect.RefuseOrWarn, c => c.At("no-such-cal")),
            new("a file instead of a folder", FuzzExpect.RefuseOrWarn, c => Write(c.At("cal.txt"), "not a folder")),
            new("only a text file", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.WriteAllText(Path.Combine(d, "README.txt"), "samples go here"))),
            new("npy and images mixed", FuzzExpect.Anything, c => Folder(c, (d, i) =>
            {
                FuzzFiles.Npy(Path.Combine(d, $"x.{i}.npy"), c.Random, FuzzFiles.InputShape);
                File.WriteAllBytes(Path.Combine(d, $"img{i}.png"), FuzzFiles.Png(8, 8, c.Random));
            })),
            new("npy named for another input", FuzzExpect.RefuseOrWarn, c => Folder(c, (d, i) =>
            {
                FuzzFiles.Npy(Path.Combine(d, $"x.{i}.npy"), c.Random, FuzzFiles.InputShape);
                FuzzFiles.Npy(Path.Combine(d, $"other.{i}.npy"), c.Random, FuzzFiles.InputShape);
            })),
            new("all-NaN sample", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes([.. Sample.Select(_ => float.NaN)])))),
            new("one NaN in a sample", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes([.. Sample.Select((_, i) => i == 17 ? float.NaN : 0.5f)])))),
            new("+inf in a sample", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes([.. Sample.Select((_, i) => i == 3 ? float.PositiveInfinity : 0.5f)])))),
            new("-inf in a raw sample", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.WriteAllBytes(Path.Combine(d, "x.0.raw"), FuzzFiles.FloatBytes([.. Sample.Select((_, i) => i == 0 ? float.NegativeInfinity : 1f)])))),
            new("samples of 3e38 (finite, huge)", FuzzExpect.Anything, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes([.. Sample.Select(_ => 3e38f)])))),
            new("constant samples", FuzzExpect.Anything, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes([.. Sample.Select(_ => 0.25f)])))),
            new("raw file of the wrong size", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.WriteAllBytes(Path.Combine(d, "x.0.raw"), new byte[100]))),
            new("empty raw file", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.WriteAllBytes(Path.Combine(d, "x.0.bin"), []))),
            new("zero-byte npy", FuzzExpect.RefuseOrWarn, c => One(c, [])),
            new("npy magic only", FuzzExpect.RefuseOrWarn, c => One(c, [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'])),
            new("npy with a bad magic", FuzzExpect.RefuseOrWarn, c => One(c, Encoding.ASCII.GetBytes("PK\u0003\u0004 this is a zip, not an npy file"))),
            new("npy with random bytes after the magic", FuzzExpect.RefuseOrWarn, c => One(c, [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', .. Random(c.Random, 300)])),
            new("npy header length beyond the file", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), [], headerLength: 60000))),
            new("npy version 2 header length 4 GiB", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes(Sample), 2, headerLength: uint.MaxValue))),
            new("npy header length 0", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes(Sample), headerLength: 0))),
            new("npy version 9", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes(Sample), 9))),
            new("npy version 2 (valid)", FuzzExpect.Success, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes(Sample.Select((_, i) => i * 0.01f).ToArray()), 2))),
            new("npy header without a closing brace", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8", FuzzFiles.FloatBytes(Sample)))),
            new("npy header with no shape", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes("{'descr': '<f4', 'fortran_order': False, }", FuzzFiles.FloatBytes(Sample)))),
            new("npy header of non-ASCII bytes", FuzzExpect.Anything, c => One(c, FuzzFiles.NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8), 'ÿÿ': 'é'}", FuzzFiles.FloatBytes(Sample)))),
            new("npy header 60,000 characters long", FuzzExpect.Anything, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8") + new string(' ', 60_000), FuzzFiles.FloatBytes(Sample)))),
            new("npy data truncated", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), FuzzFiles.FloatBytes(Sample).AsSpan(0, 300)))),
            new("npy with trailing bytes", FuzzExpect.Anything, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8"), [.. FuzzFiles.FloatBytes(Sample), .. new byte[40]]))),
            new("npy fortran order", FuzzExpect.Anything, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", "1, 3, 8, 8", fortran: true), FuzzFiles.FloatBytes(Sample)))),
        };

        foreach (var shape in new[] { "1, 3, 4, 4", "3, 8, 8", "1, 1, 8, 8", "1, 3, 8, 8, 1", "2, 3, 8, 8", "192", "" })
        {
            int count = shape.Length == 0 ? 1 : shape.Split(',').Select(int.Parse).Aggregate(1, (a, b) => a * b);
            kinds.Add(new($"npy of shape ({shape})", shape == "2, 3, 8, 8" ? FuzzExpect.Anything : FuzzExpect.Anything, c =>
                One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", shape.Contains(',', StringComparison.Ordinal) || shape.Length == 0 ? shape : shape + ","), FuzzFiles.FloatBytes(FuzzFiles.Floats(c.Random, count))))));
        }

        foreach (var shape in new[] { "1, 3, 0, 8", "0, 3, 8, 8", "0," })
        {
            kinds.Add(new($"zero-element npy ({shape})", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", shape), []))));
        }

        foreach (var shape in new[] { "4294967296, 1", "2147483647, 2147483647, 2147483647", "-1, 3, 8, 8", "1, 3, 8, -8", "1.5, 3, 8, 8", "1, 3, 8, 8a", "99999999999999999999999, 1" })
        {
            kinds.Add(new($"npy header shape ({shape})", FuzzExpect.RefuseOrWarn, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader("<f4", shape), FuzzFiles.FloatBytes(Sample)))));
        }

        foreach (var (descr, size) in new[] { ("<f8", 8), ("<f2", 2), ("<i8", 8), ("|u1", 1), ("|b1", 1), (">f4", 4), ("<c8", 8), ("|O", 8), ("<U10", 40), ("bogus", 4), ("", 4) })
        {
            kinds.Add(new($"npy of dtype '{descr}'", FuzzExpect.Anything, c => One(c, FuzzFiles.NpyBytes(FuzzFiles.NpyHeader(descr, "1, 3, 8, 8"), Random(c.Random, 192 * size)))));
        }

        foreach (var (name, bytes) in new (string, byte[])[]
        {
            ("zero-byte PNG", []),
            ("PNG magic only", [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]),
            ("truncated JPEG (FF D8 FF E0 B3 46)", [0xFF, 0xD8, 0xFF, 0xE0, 0xB3, 0x46]),
            ("GIF header only", Encoding.ASCII.GetBytes("GIF89a")),
            ("BMP header cut short", FuzzFiles.BmpHeader(8, 8, 0)[..30]),
            ("BMP with fewer pixels than its header says", FuzzFiles.BmpHeader(8, 8, 10)),
            ("BMP of width 0", FuzzFiles.BmpHeader(0, 8, 0)),
            ("BMP of negative width", FuzzFiles.BmpHeader(-8, 8, 192)),
            ("text file named .png", Encoding.ASCII.GetBytes("definitely not an image")),
        })
        {
            string ext = name.Contains("JPEG", StringComparison.Ordinal) ? ".jpg" : name.Contains("GIF", StringComparison.Ordinal) ? ".gif" : name.Contains("BMP", StringComparison.Ordinal) ? ".bmp" : ".png";
            kinds.Add(new(name, FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.WriteAllBytes(Path.Combine(d, "img" + ext), bytes))));
        }

        // Permission bits do not stop root (CI containers often run as root): there the file stays readable and valid.
        kinds.Add(new("an unreadable sample (mode 000, readable anyway when running as root)", FuzzExpect.Anything, c => Folder(c, 1, (d, _) =>
        {
            string file = Path.Combine(d, "x.0.npy");
            FuzzFiles.Npy(file, c.Random, FuzzFiles.InputShape);
            if (!OperatingSystem.IsWindows() && !FuzzFiles.PermissionsAreIgnored(c.Root))
            {
                File.SetUnixFileMode(file, UnixFileMode.None);
            }
        })));
        kinds.Add(new("dangling link named like a sample", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.CreateSymbolicLink(Path.Combine(d, "x.0.npy"), Path.Combine(d, "nowhere.npy")))));
        kinds.Add(new("link loop named like a sample", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) =>
        {
            File.CreateSymbolicLink(Path.Combine(d, "x.0.npy"), Path.Combine(d, "x.1.npy"));
            File.CreateSymbolicLink(Path.Combine(d, "x.1.npy"), Path.Combine(d, "x.0.npy"));
        })));
        kinds.Add(new("link to a folder named like a sample", FuzzExpect.Anything, c => Folder(c, 1, (d, _) =>
        {
            FuzzFiles.Npy(Path.Combine(d, "x.0.npy"), c.Random, FuzzFiles.InputShape);
            Directory.CreateSymbolicLink(Path.Combine(d, "x.1.npy"), c.Folder("elsewhere"));
        })));
        kinds.Add(new("link to the model named like a sample", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.CreateSymbolicLink(Path.Combine(d, "x.0.npy"), c.At("model", "m.onnx")))));

        // Endless or blocking inputs: in a child process, killed at the time limit if they hang.
        foreach (var device in new[] { "/dev/zero", "/dev/urandom", "/dev/null" })
        {
            foreach (var file in new[] { "x.0.npy", "x.0.raw", "img.png", "img.jpg" })
            {
                kinds.Add(new($"{file} is a link to {device}", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.CreateSymbolicLink(Path.Combine(d, file), device)), ChildProcess: true));
            }
        }

        foreach (var file in new[] { "x.0.npy", "img.png" })
        {
            kinds.Add(new($"{file} is a FIFO", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) =>
            {
                if (!c.Fifo(Path.Combine(d, file)))
                {
                    File.WriteAllBytes(Path.Combine(d, file), []);
                }
            }), ChildProcess: true));
        }

        kinds.Add(new("x.0.npy is a link to a FIFO", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) =>
        {
            string fifo = c.At("pipe");
            if (c.Fifo(fifo))
            {
                File.CreateSymbolicLink(Path.Combine(d, "x.0.npy"), fifo);
            }
        }), ChildProcess: true));
        kinds.Add(new("damaged JPEG with its end marker (decoder loop)", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.WriteAllBytes(Path.Combine(d, "damaged.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 0xB3, 0x46, 0xFF, 0xD9])), ChildProcess: true));
        for (int k = 0; k < 6; k++)
        {
            int variant = k;
            // Random pixels behind a complete BMP header are a valid image; random JPEG or PNG bodies are not.
            kinds.Add(new($"random image bytes behind a valid signature ({(variant % 3) switch { 0 => "JPEG", 1 => "PNG", _ => "BMP" }} #{variant / 3})", variant % 3 == 2 ? FuzzExpect.Anything : FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) =>
            {
                byte[] body = Random(c.Random, 64 + c.Random.Next(512));
                byte[] bytes = (variant % 3) switch
                {
                    0 => [0xFF, 0xD8, 0xFF, 0xE0, .. body, 0xFF, 0xD9],
                    1 => [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, .. body, .. "IEND"u8],
                    _ => [.. FuzzFiles.BmpHeader(8, 8, 0), .. body],
                };
                File.WriteAllBytes(Path.Combine(d, (variant % 3) switch { 0 => "r.jpg", 1 => "r.png", _ => "r.bmp" }), bytes);
            }), ChildProcess: true));
        }

        kinds.Add(new("BMP header claiming 2^31-1 x 2^31-1 pixels", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) => File.WriteAllBytes(Path.Combine(d, "huge.bmp"), FuzzFiles.BmpHeader(int.MaxValue, int.MaxValue, 64))), ChildProcess: true));
        kinds.Add(new("PNG header claiming 65535 x 65535 pixels", FuzzExpect.RefuseOrWarn, c => Folder(c, 1, (d, _) =>
        {
            var png = FuzzFiles.Png(1, 1, c.Random);
            png[16] = png[20] = 0;
            png[17] = png[21] = 0;
            png[18] = png[22] = 0xFF;
            png[19] = png[23] = 0xFF;
            File.WriteAllBytes(Path.Combine(d, "huge.png"), png);
        }), ChildProcess: true));
        return kinds;
    }

    /// <summary>The folder "cal" with 1 to 4 samples made by <paramref name="write"/> (folder, index).</summary>
    private static string Folder(CaseFolder c, Action<string, int> write) => Folder(c, 1 + c.Random.Next(4), write);

    private static string Folder(CaseFolder c, int count, Action<string, int> write)
    {
        string folder = c.Folder("cal");
        for (int i = 0; i < count; i++)
        {
            write(folder, i);
        }

        return folder;
    }

    /// <summary>The folder "cal" with one valid sample and <paramref name="bytes"/> as a second .npy sample.</summary>
    private static string One(CaseFolder c, byte[] bytes) => Folder(c, 1, (d, _) =>
    {
        FuzzFiles.Npy(Path.Combine(d, "x.0.npy"), c.Random, FuzzFiles.InputShape);
        File.WriteAllBytes(Path.Combine(d, "x.1.npy"), bytes);
    });

    private static string Write(string path, string text)
    {
        File.WriteAllText(path, text);
        return path;
    }

    private static byte[] Random(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
