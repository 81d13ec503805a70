using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Quant.Net.Benchmarks;

internal static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["observer-accuracy"])
        {
            Observers.ObserverAccuracyReport.Run();
            return;
        }

        if (args is ["corpus-report"])
        {
            Onnx.CorpusReport.Run();
            return;
        }

        if (args is ["transformer-report", ..] && args.Length <= 2)
        {
            Onnx.TransformerReport.Run(args.Length == 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64);
            return;
        }

        if (args is ["gptq-timing", ..])
        {
            Kernels.GptqTimingReport.Run(args[1..]);
            return;
        }

        if (args is ["resnet-layers", var threads])
        {
            var bench = new Onnx.ResNet18LayerBenchmarks { Threads = int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture) };
            bench.Setup();
            if (Environment.GetEnvironmentVariable("PROFILE") is "1") bench.Profile();
            // With threads, each call comes after a 50 ms pause so that no pool's spinning helper holds the second core:
            // these are cold-start timings (helpers parked), the warm ones are BenchmarkDotNet's.
            if (bench.Threads > 1) Console.WriteLine("each call after a 50 ms pause: cold-start timings (helpers parked)");
            QuickTimer.Run([("our FP32", () => bench.OursFp32()), ("our INT8", () => bench.OursInt8()), ("ORT FP32", () => bench.OrtFp32()), ("ORT INT8", () => bench.OrtInt8())], rounds: 31,
                pauseMs: bench.Threads > 1 ? 50 : 0);
            bench.Cleanup();
            return;
        }

        if (args is ["block-gemm", var weight, var blockRows, var threadCount, ..] && args.Length <= 5)
        {
            bool integerOnly = args is [.., "int8"];
            var bench = new Kernels.BlockGemmBenchmarks
            {
                Weight = weight,
                M = int.Parse(blockRows, System.Globalization.CultureInfo.InvariantCulture),
                Threads = int.Parse(threadCount, System.Globalization.CultureInfo.InvariantCulture),
            };
            bench.Setup();
            // "int8" as a fifth argument: only the integer-activation contenders (their weights then stay in L3 between calls).
            var contenders = integerOnly ? new List<(string, Action)> { ("ours int4, int8 act.", bench.OursInt8), ("ORT level 4", bench.OrtLevel4) }
                : [("ours int4, float act.", bench.OursFloat), ("ORT level 0", bench.OrtLevel0), ("ours int4, int8 act.", bench.OursInt8),
                ("ORT level 4", bench.OrtLevel4), ("ours FP32", bench.OursFp32), ("ORT FP32", bench.OrtFloat)];
            foreach (var path in Simd.IsaConfig.BlockGemmPaths.Where(p => p != Simd.IsaConfig.Best.BlockGemm && p != Simd.BlockGemmPath.Scalar))
            {
                contenders.Add(($"ours int4, int8 act., {path} path", () => bench.OursInt8On(path)));
            }

            QuickTimer.Run(contenders);
            bench.Cleanup();
            return;
        }

        if (args is ["conv", var convShape])
        {
            var bench = new Kernels.ConvBenchmarks { Layer = convShape };
            bench.Setup();
            QuickTimer.Run([("ours int8", bench.OursInt8), ("ORT QLinearConv", bench.OrtInt8), ("ours FP32", bench.OursFp32), ("ORT FP32", bench.OrtFp32)], rounds: 101);
            bench.Cleanup();
            return;
        }

        if (args is ["gemm", var gemmShape])
        {
            Kernels.GemmScaling.Run(gemmShape);
            return;
        }

        if (args is ["block-accuracy"])
        {
            Kernels.BlockAccuracyReport.Run();
            return;
        }

        if (args is ["resnet-adaround", var iterations, var rows])
        {
            Onnx.ModelQuantizationReport.ResNet18AdaRound(int.Parse(iterations, System.Globalization.CultureInfo.InvariantCulture), int.Parse(rows, System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        if (args is ["mixed-precision-report", var which, var output] && which is "fashion" or "resnet")
        {
            Onnx.MixedPrecisionReport.Run(which, output);
            return;
        }

        if (args is ["analysis-report", var what, var folder] && what is "fashion" or "resnet")
        {
            Onnx.AnalysisReport.Run(what, folder);
            return;
        }

        if (args is ["resnet-ptq"])
        {
            Onnx.ModelQuantizationReport.ResNet18LowBit();
            return;
        }

        if (args is ["cle-report"])
        {
            Onnx.CleReport.Run(Onnx.WildChannelModel.Build(), Onnx.WildChannelModel.Samples);
            return;
        }

        if (args is ["ptq-report"])
        {
            Onnx.PtqTechniquesReport.Run();
            return;
        }

        if (args is ["target-host"])
        {
            Onnx.TargetReport.RunHost();
            return;
        }

        if (args is ["target-report"])
        {
            Onnx.TargetReport.Run();
            return;
        }

        if (args is ["model-report"])
        {
            Onnx.ModelQuantizationReport.Run();
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args,
            DefaultConfig.Instance.WithOptions(ConfigOptions.JoinSummary).AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams));
    }
}
