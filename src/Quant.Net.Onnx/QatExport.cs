using Quant.Net.Training;

namespace Quant.Net.Onnx;

/// <summary>
/// Turns a network trained with <see cref="FakeQuantizer"/>s into a deployable quantized ONNX model: the FP32 model of
/// the trained network plus the quantizers, keyed by the ONNX tensor each one simulated (weight initializers and
/// activation values), give a QDQ model whose encodings are exactly the learned ones — no calibration.
/// </summary>
/// <example>
/// <code>
/// var quantizers = new Dictionary&lt;string, FakeQuantizer&gt; { ["fc0.weight"] = wq0, ["input"] = xq0, /* ... */ };
/// var deployed = QatExport.Deploy(fp32Model, quantizers);
/// deployed.Model.Save("model.qdq.onnx");
/// AimetEncodingsFile.Save(deployed, "model.encodings", AimetEncodingsVersion.Version100);
/// </code>
/// </example>
public static class QatExport
{
    /// <summary>The encodings the quantizers hold now (learned, or observed if still observing), by tensor name.</summary>
    /// <exception cref="ArgumentException">A name is empty or a quantizer is null.</exception>
    public static Dictionary<string, QuantEncoding> Encodings(IReadOnlyDictionary<string, FakeQuantizer> quantizers)
    {
        ArgumentNullException.ThrowIfNull(quantizers);
        var encodings = new Dictionary<string, QuantEncoding>(StringComparer.Ordinal);
        foreach (var (name, quantizer) in quantizers)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException("A quantizer has an empty tensor name.", nameof(quantizers));
            }

            encodings[name] = (quantizer ?? throw new ArgumentException($"The quantizer for '{name}' is null.", nameof(quantizers))).ToEncoding();
        }

        return encodings;
    }

    /// <summary>
    /// A configuration whose schemes match the quantizers: weight type, per-channel/per-tensor/blocked weights from the
    /// quantizers on initializers; activation type and symmetry from those on values; model inputs and outputs
    /// quantized exactly when a quantizer names them. Everything else comes from <paramref name="template"/>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A name is in neither the initializers nor the values of the graph, or the weight (activation) quantizers
    /// disagree on bit width, granularity or sign (give a config with per-op-type overrides then).
    /// </exception>
    public static QuantizationConfig ConfigFor(OnnxModel model, IReadOnlyDictionary<string, FakeQuantizer> quantizers, QuantizationConfig? template = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(quantizers);
        var graph = model.Proto.Graph;
        var index = new GraphIndex(graph);
        var weights = new List<(string Name, QuantScheme Scheme)>();
        var activations = new List<(string Name, QuantScheme Scheme)>();
        foreach (var (name, quantizer) in quantizers)
        {
            ArgumentNullException.ThrowIfNull(quantizer, name);
            if (index.IsInitializer(name))
            {
                weights.Add((name, quantizer.Scheme));
            }
            else if (index.GraphInputs.Contains(name) || index.Producer(name) is not null)
            {
                activations.Add((name, quantizer.Scheme));
            }
            else
            {
                throw new ArgumentException($"Quantizer '{name}' names no initializer or value of graph '{graph.Name}'.", nameof(quantizers));
            }
        }

        var config = template ?? new QuantizationConfig();
        if (weights.Count > 0)
        {
            var scheme = Single(weights, "weight");
            config = config with
            {
                Weights = QuantizationConfig.WeightTypeFor(scheme.BitWidth)
                    ?? throw new ArgumentException($"Weight quantizer '{weights[0].Name}' has {scheme.BitWidth} bits; ONNX export supports 2, 3, 4, 8 and 16.", nameof(quantizers)),
                PerChannelWeights = scheme.Granularity.Kind != QuantGranularityKind.PerTensor,
                WeightBlockSize = scheme.Granularity.Kind == QuantGranularityKind.PerBlock ? scheme.Granularity.BlockSize : null,
            };
        }

        if (activations.Count > 0)
        {
            var scheme = Single(activations, "activation");
            config = config with
            {
                Activations = QuantizationConfig.ActivationTypeFor(scheme.BitWidth, scheme.IsSigned)
                    ?? throw new ArgumentException($"Activation quantizer '{activations[0].Name}' is {scheme}; ONNX export supports uint8, int8, uint16, int16 and uint4.", nameof(quantizers)),
                SymmetricActivations = scheme.IsSymmetric,
                QuantizeModelInputs = index.GraphInputs.Any(quantizers.ContainsKey),
                QuantizeModelOutputs = index.GraphOutputs.Any(quantizers.ContainsKey),
            };
        }

        return config;
    }

    /// <summary>
    /// The QDQ model with the quantizers' encodings (<see cref="ConfigFor"/> unless <paramref name="config"/> is given).
    /// Tensors the config quantizes but no quantizer names are calibrated on <paramref name="calibrationData"/>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A quantizer names a tensor the model does not have or the config does not quantize, its scheme differs from the
    /// config's, or tensors without a quantizer need calibration and no data was given.
    /// </exception>
    public static QuantizationResult Deploy(OnnxModel model, IReadOnlyDictionary<string, FakeQuantizer> quantizers, QuantizationConfig? config = null,
        ICalibrationDataSource? calibrationData = null, CancellationToken cancellationToken = default)
    {
        config ??= ConfigFor(model, quantizers);
        var encodings = Encodings(quantizers);
        var result = OnnxQuantizer.Quantize(model, calibrationData, config, encodings, cancellationToken: cancellationToken);
        var used = result.Encodings.Where(e => e.Encoding is not null).Select(e => e.Tensor.Name).ToHashSet(StringComparer.Ordinal);
        var unused = encodings.Keys.Where(n => !used.Contains(n)).ToList();
        if (unused.Count > 0)
        {
            throw new ArgumentException(
                $"Quantizer '{unused[0]}' was not used: the configuration does not quantize that tensor{(unused.Count > 1 ? $" (nor {unused.Count - 1} more)" : "")}.",
                nameof(quantizers));
        }

        return result;
    }

    private static QuantScheme Single(List<(string Name, QuantScheme Scheme)> quantizers, string what)
    {
        var first = quantizers[0];
        foreach (var (name, scheme) in quantizers)
        {
            if (scheme.BitWidth != first.Scheme.BitWidth || scheme.IsSigned != first.Scheme.IsSigned || scheme.IsSymmetric != first.Scheme.IsSymmetric
                || scheme.Granularity.Kind != first.Scheme.Granularity.Kind || scheme.Granularity.BlockSize != first.Scheme.Granularity.BlockSize)
            {
                throw new ArgumentException(
                    $"The {what} quantizers differ ('{first.Name}' is {first.Scheme}, '{name}' is {scheme}); pass a config with per-op-type overrides.", nameof(quantizers));
            }
        }

        return first.Scheme;
    }
}
