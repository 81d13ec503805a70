using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentAssertions;
using Json.Schema;
using Quant.Net.Cli;
using Quant.Net.Onnx.Tests.Architecture;
using Quant.Net.Onnx.Tests.Support;
using Quant.Net.Rounding;

namespace Quant.Net.Onnx.Tests.Planning;

/// <summary>
/// <c>quantization-config.schema.json</c> describes exactly the JSON that <see cref="QuantizationConfig.ToJson"/> writes and
/// <see cref="QuantizationConfig.FromJson"/> reads. Nothing here is a hand list of members: the schema is compared with the
/// serializer's own contract (its <see cref="JsonTypeInfo"/> of each type, walked by reflection) and with what it writes,
/// so a member added, renamed or retyped in C# fails a test until the schema says the same. A validator (JsonSchema.Net)
/// checks the schema against the draft 2020-12 meta-schema and every example of <c>samples/configs</c> against the schema.
/// </summary>
public sealed class QuantizationConfigSchemaTests : IDisposable
{
    private static readonly string Root = SourceGraph.RepositoryRoot();
    private static readonly string SchemaPath = Path.Combine(Root, "src", "Quant.Net.Onnx", "quantization-config.schema.json");
    private static readonly string ExamplesFolder = Path.Combine(Root, "samples", "configs");
    private static readonly Lazy<JsonObject> SchemaNode = new(() => JsonNode.Parse(File.ReadAllText(SchemaPath))!.AsObject());
    private static readonly Lazy<JsonSchema> Validator = new(() => JsonSchema.FromText(File.ReadAllText(SchemaPath)));
    private static readonly JsonSerializerOptions Options = QuantizationConfig.Json;

    private readonly string _dir = Directory.CreateTempSubdirectory("qn-schema-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonObject Defs => SchemaNode.Value["$defs"]!.AsObject();

    private static List<string> ExampleFiles() => [.. Directory.GetFiles(ExamplesFolder, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Examples() => [.. ExampleFiles()];

    [Fact]
    public void The_schema_is_valid_draft_2020_12_and_the_embedded_copy_is_the_file()
    {
        string text = File.ReadAllText(SchemaPath);
        QuantizationConfig.JsonSchema.Should().Be(text, "the assembly embeds the file as it is");
        SchemaNode.Value["$schema"]!.GetValue<string>().Should().Be("https://json-schema.org/draft/2020-12/schema");
        using var document = JsonDocument.Parse(text);
        Violations(MetaSchemas.Draft202012, document.RootElement).Should().BeEmpty("the schema follows the draft 2020-12 meta-schema");
        SchemaNode.Value["additionalProperties"]!.GetValue<bool>().Should().BeFalse("FromJson refuses unknown members");
    }

    [Fact]
    public void Every_member_of_the_serializer_contract_is_in_the_schema_with_its_type_and_no_other()
    {
        var problems = new List<string>();
        var visited = new HashSet<Type>();
        CheckObject(typeof(QuantizationConfig), SchemaNode.Value, "#", visited, problems);
        problems.Should().BeEmpty();
        visited.Should().BeEquivalentTo([typeof(QuantizationConfig), typeof(OpTypeConfig), typeof(AdaRoundOptions)], "the walk reaches every object type a config holds");
        Defs.Select(d => d.Key).Should().OnlyContain(name => IsReferenced(name), "every definition is used");
    }

    [Fact]
    public void Every_name_ToJson_writes_is_declared_and_every_declared_name_is_written()
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        var configs = new[] { new QuantizationConfig(), Everything() }.Concat(Enum.GetValues<DeploymentTarget>().Select(QuantizationConfig.ForTarget));
        foreach (var config in configs)
        {
            var json = JsonNode.Parse(config.ToJson())!;
            var undeclared = new List<string>();
            CollectNames(json, SchemaNode.Value, "#", written, undeclared);
            undeclared.Should().BeEmpty($"every member of {config.Target}'s JSON is declared in the schema");
            using var document = JsonDocument.Parse(config.ToJson());
            Violations(Validator.Value, document.RootElement).Should().BeEmpty();
        }

        ContainsNull(JsonNode.Parse(Everything().ToJson())).Should().BeFalse("the full config sets every optional member");
        var declared = DeclaredNames(SchemaNode.Value, "#").Where(n => n != "#/$schema").ToList();
        declared.Should().BeEquivalentTo(written, "what the schema declares, ToJson writes (the top-level $schema excepted: it is read, never written)");
        QuantizationConfig.FromJson(Everything().ToJson()).ToJson().Should().Be(Everything().ToJson());
    }

    [Fact]
    public void Schema_defaults_are_what_a_new_config_writes()
    {
        var problems = new List<string>();
        CompareDefaults(SchemaNode.Value, JsonNode.Parse(new QuantizationConfig().ToJson())!.AsObject(), "#", problems, except: "$schema");
        CompareDefaults(Defs["opTypeConfig"]!.AsObject(), JsonSerializer.SerializeToNode(new OpTypeConfig(), Options)!.AsObject(), "opTypeConfig", problems);
        CompareDefaults(Defs["adaRoundOptions"]!.AsObject(), JsonSerializer.SerializeToNode(new AdaRoundOptions(), Options)!.AsObject(), "adaRoundOptions", problems);
        problems.Should().BeEmpty();
    }

    [Fact]
    public void Every_enum_of_the_schema_lists_the_names_the_serializer_writes()
    {
        var enums = Defs.Where(d => d.Value!["enum"] is JsonArray values && values.All(v => v!.GetValueKind() == JsonValueKind.String)).ToList();
        enums.Should().HaveCount(7);
        foreach (var (name, definition) in enums)
        {
            var type = typeof(QuantizationConfig).Assembly.GetExportedTypes().Single(t => t.IsEnum && t.Name == Pascal(name));
            var expected = Enum.GetValues(type).Cast<object>().Select(v => JsonSerializer.SerializeToNode(v, type, Options)!.GetValue<string>()).ToList();
            definition!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).Should().Equal(expected, $"{name} lists {type.Name}'s JSON names in order");
            definition["enumDescriptions"]!.AsArray().Should().HaveCount(expected.Count).And.OnlyContain(d => d!.GetValue<string>().Length > 0);
            foreach (string value in expected)
            {
                JsonSerializer.Deserialize(JsonSerializer.Serialize(value), type, Options).Should().NotBeNull($"'{value}' reads back as a {type.Name}");
            }
        }

        Defs["deploymentTarget"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).Should().Equal(DeploymentTargets.Names, "the CLI's --target names");
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_example_loads_and_validates_against_the_schema(string file)
    {
        string path = Path.Combine(ExamplesFolder, file);
        var config = QuantizationConfig.Load(path);
        config.Should().NotBeNull();
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        Violations(Validator.Value, document.RootElement).Should().BeEmpty();
        string reference = document.RootElement.GetProperty("$schema").GetString()!;
        reference.Should().Be("../../src/Quant.Net.Onnx/quantization-config.schema.json");
        Path.GetFullPath(Path.Combine(ExamplesFolder, reference)).Should().Be(Path.GetFullPath(SchemaPath), "the relative $schema leads to the schema");
        JsonNode.Parse(config.ToJson())!.AsObject().Should().NotContainKey("$schema");
    }

    [Fact]
    public void The_examples_cover_the_common_cases_and_say_what_their_names_say()
    {
        ExampleFiles().Should().BeEquivalentTo(
            ["w8a8-portable.json", "w8a8-x86-vnni.json", "w4a8-per-channel.json", "w4-recovery.json", "w8a16.json", "dynamic.json", "per-op-overrides.json", "qnn-htp.json"]);
        QuantizationConfig Load(string file) => QuantizationConfig.Load(Path.Combine(ExamplesFolder, file));
        SameJson(Load("w8a8-portable.json"), new QuantizationConfig());
        SameJson(Load("w8a8-x86-vnni.json"), QuantizationConfig.ForTarget(DeploymentTarget.X86Vnni));
        SameJson(Load("qnn-htp.json"), QuantizationConfig.ForTarget(DeploymentTarget.QnnHtp));
        Load("w4a8-per-channel.json").Should().Match<QuantizationConfig>(c => c.Weights == WeightType.Int4 && c.PerChannelWeights && c.Activations == ActivationType.Int8);
        Load("w4-recovery.json").Should().Match<QuantizationConfig>(c => c.Weights == WeightType.Int4 && c.CrossLayerEqualization && c.BiasCorrection && c.AdaRound != null);
        Load("w8a16.json").Should().Match<QuantizationConfig>(c => c.Weights == WeightType.Int8 && c.Activations == ActivationType.UInt16);
        Load("dynamic.json").Mode.Should().Be(QuantizationMode.Dynamic);
        var overrides = Load("per-op-overrides.json");
        overrides.ExcludedNodes.Should().Equal("/fc2/Gemm");
        overrides.Nodes.Should().ContainKey("/conv1/Conv");
        overrides.OpTypes.Should().ContainKey("Gemm");
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_example_quantizes_the_shipped_cnn(string file)
    {
        var config = QuantizationConfig.Load(Path.Combine(ExamplesFolder, file));
        if (config.AdaRound is { } adaRound)
        {
            config = config with { AdaRound = adaRound with { Iterations = 5 } };   // the example's 200 steps per layer take a minute
        }

        var model = DefaultModel.Load();
        var calibration = config.Mode == QuantizationMode.Dynamic ? null
            : InMemoryCalibrationData.ForSingleInput(model.Inputs[0].Name, DefaultModel.CalibrationImages().Take(16));
        var result = OnnxQuantizer.Quantize(model, calibration, config);
        result.QuantizedNodes.Should().NotBeEmpty();
        foreach (string excluded in config.ExcludedNodes)
        {
            result.QuantizedNodes.Should().NotContain(excluded, "an excluded node stays in float");
        }
    }

    [Fact]
    public void A_config_naming_its_schema_loads_and_ToJson_does_not_write_the_name()
    {
        const string body = "\"weights\": \"int4\", \"opTypes\": { \"Gemm\": { \"perChannelWeights\": false } }";
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, $"{{ \"$schema\": \"quantization-config.schema.json\", {body} }}");
        var named = QuantizationConfig.Load(path);
        named.ToJson().Should().Be(QuantizationConfig.FromJson($"{{ {body} }}").ToJson());
        named.ToJson().Should().NotContain("$schema");
        QuantizationConfig.FromJson("{ \"$schema\": \"https://example.invalid/schema.json\" }").ToJson().Should().Be(new QuantizationConfig().ToJson());
        FluentActions.Invoking(() => QuantizationConfig.FromJson("{ \"$schema\": 3 }")).Should().Throw<ArgumentException>().WithMessage("*$schema*");
        FluentActions.Invoking(() => QuantizationConfig.FromJson("{ \"$schema\": null }")).Should().Throw<ArgumentException>().WithMessage("*$schema*");
        FluentActions.Invoking(() => QuantizationConfig.FromJson("{ \"opTypes\": { \"Conv\": { \"$schema\": \"x\" } } }")).Should().Throw<ArgumentException>()
            .WithMessage("*$schema*", "only the top level names the schema");
    }

    /// <summary>Documents each refused by <see cref="QuantizationConfig.FromJson"/> and by the schema.</summary>
    public static TheoryData<string> Refused() =>
    [
        "{ \"weigths\": \"int8\" }",
        "{ \"Weights\": \"int8\" }",
        "{ \"weights\": \"int5\" }",
        "{ \"weights\": 1 }",
        "{ \"target\": \"X86Vnni\" }",
        "{ \"percentile\": 50 }",
        "{ \"percentile\": 100.5 }",
        "{ \"percentile\": \"99\" }",
        "{ \"weightBlockSize\": 24 }",
        "{ \"weightBlockSize\": 1 }",
        "{ \"weightBlockSize\": 0 }",
        "{ \"outlierSmoothingStrength\": 1.5 }",
        "{ \"outlierSmoothingStrength\": -0.1 }",
        "{ \"calibrationBatchSize\": 0 }",
        "{ \"perChannelWeights\": \"true\" }",
        "{ \"excludedNodes\": \"conv1\" }",
        "{ \"excludedNodes\": [null] }",
        "{ \"supergroups\": [[\"Conv\"]] }",
        "{ \"supergroups\": [[\"Conv\", null]] }",
        "{ \"tensorObservers\": { \"x\": \"max\" } }",
        "{ \"opTypes\": { \"Conv\": null } }",
        "{ \"opTypes\": { \"Conv\": { \"quantise\": true } } }",
        "{ \"opTypes\": { \"Softmax\": { \"outputRange\": [0.5, 1] } } }",
        "{ \"opTypes\": { \"Softmax\": { \"outputRange\": [0, 0] } } }",
        "{ \"opTypes\": { \"Softmax\": { \"outputRange\": [0, 1, 2] } } }",
        "{ \"opTypes\": { \"Softmax\": { \"outputRange\": [0] } } }",
        "{ \"opTypes\": { \"MatMul\": { \"weightBlockSize\": 48 } } }",
        "{ \"nodes\": { \"fc\": { \"weightBlockSize\": 3 } } }",
        "{ \"adaRound\": { \"iteration\": 10 } }",
        "{ \"$schema\": 3 }",
        "{ \"usesStrictSymmetricWeights\": true }",
    ];

    [Theory]
    [MemberData(nameof(Refused))]
    public void What_the_loader_refuses_the_schema_refuses(string json)
    {
        FluentActions.Invoking(() => QuantizationConfig.FromJson(json)).Should().Throw<ArgumentException>();
        using var document = JsonDocument.Parse(json);
        Violations(Validator.Value, document.RootElement).Should().NotBeEmpty($"the schema refuses {json} as the loader does");
    }

    [Fact]
    public void What_the_loader_accepts_the_schema_accepts_and_null_is_allowed_exactly_where_the_member_is_nullable()
    {
        string[] accepted =
        [
            "{}", "{ \"percentile\": 100 }", "{ \"percentile\": 50.01 }", "{ \"outlierSmoothingStrength\": 0 }", "{ \"outlierSmoothingStrength\": 1 }",
            "{ \"weightBlockSize\": 2 }", "{ \"weightBlockSize\": 1073741824 }", "{ \"opTypes\": { \"Tanh\": { \"outputRange\": [-1, 1] } } }",
            "{ \"opTypes\": { \"Relu\": { \"outputRange\": [0, 6] } } }", "{ \"supergroups\": [] }", "{ \"adaRound\": {} }",
        ];
        foreach (string json in accepted)
        {
            FluentActions.Invoking(() => QuantizationConfig.FromJson(json)).Should().NotThrow(json);
            using var document = JsonDocument.Parse(json);
            Violations(Validator.Value, document.RootElement).Should().BeEmpty(json);
        }

        // Null for each member, at the top level and in an op type's settings: the loader and the schema agree.
        foreach (var (name, wrap) in Members(typeof(QuantizationConfig), n => $"{{ \"{n}\": null }}")
            .Concat(Members(typeof(OpTypeConfig), n => $"{{ \"opTypes\": {{ \"Conv\": {{ \"{n}\": null }} }} }}"))
            .Concat(Members(typeof(AdaRoundOptions), n => $"{{ \"adaRound\": {{ \"{n}\": null }} }}")))
        {
            bool loads = Loads(wrap);
            using var document = JsonDocument.Parse(wrap);
            bool valid = Violations(Validator.Value, document.RootElement).Count == 0;
            valid.Should().Be(loads, $"the schema and the loader agree on {wrap} (the loader {(loads ? "accepts" : "refuses")} it)");
        }

        static IEnumerable<(string, string)> Members(Type type, Func<string, string> wrap) =>
            Options.GetTypeInfo(type).Properties.Select(p => (p.Name, wrap(p.Name)));

        static bool Loads(string json)
        {
            try
            {
                QuantizationConfig.FromJson(json);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
    }

    [Fact]
    public void Quant_schema_writes_the_schema_as_is()
    {
        var (code, output) = CliRunner.Run("schema");
        code.Should().Be(0);
        output.Should().Be(QuantizationConfig.JsonSchema, "long lines are not wrapped: the output is the file");
        CliRunner.Run("schema", "--help").Code.Should().Be(0);
        CliRunner.Run("schema", "config.json").Code.Should().Be(2, "it takes no arguments");
        CliRunner.Run("--help").Output.Should().Contain("quant schema");
    }

    [Fact]
    public void The_readme_names_the_schema_and_lists_every_example()
    {
        string readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        readme.Should().Contain("quantization-config.schema.json").And.Contain("quant schema").And.Contain("QuantizationConfig.JsonSchema");
        foreach (string file in ExampleFiles())
        {
            readme.Should().Contain($"`{file}`", "the README lists every example config");
        }

        var configBlocks = readme.Split("```json\n").Skip(1).Select(b => b[..b.IndexOf("```", StringComparison.Ordinal)])
            .Where(b => b.Contains("\"$schema\": \"quantization-config.schema.json\"", StringComparison.Ordinal)).ToList();
        configBlocks.Should().NotBeEmpty("the README shows a config that names its schema");
        foreach (string block in configBlocks)
        {
            QuantizationConfig.FromJson(block).Should().NotBeNull();
            using var document = JsonDocument.Parse(block);
            Violations(Validator.Value, document.RootElement).Should().BeEmpty(block);
        }
    }

    /// <summary>A config with every optional member set, every map and list non-empty.</summary>
    private static QuantizationConfig Everything() => new()
    {
        Mode = QuantizationMode.Static,
        Target = DeploymentTarget.X86Vnni,
        QdqDomain = QdqDomain.Onnx,
        Activations = ActivationType.Int16,
        SymmetricActivations = true,
        Weights = WeightType.Int4,
        StrictSymmetricWeights = false,
        WeightBlockSize = 32,
        Observer = ObserverKind.Percentile,
        Percentile = 99.9,
        TensorObservers = new Dictionary<string, ObserverKind> { ["x"] = ObserverKind.Mse },
        OpTypes = new Dictionary<string, OpTypeConfig> { ["Softmax"] = Full() },
        ExcludedNodes = ["head"],
        Nodes = new Dictionary<string, OpTypeConfig> { ["conv1"] = Full() with { OutputRange = [-1f, 1f] } },
        Supergroups = [["Conv", "Relu"]],
        OutlierSmoothingStrength = 0.5,
        AdaRound = new AdaRoundOptions { Iterations = 100, RowsPerSample = 64, Seed = 3 },
        BiasCorrectionMethod = BiasCorrectionMethod.Analytical,
    };

    private static OpTypeConfig Full() => new()
    {
        QuantizeInputs = true,
        QuantizeOutput = true,
        Weights = WeightType.Int8,
        PerChannelWeights = false,
        WeightBlockSize = 64,
        Activations = ActivationType.UInt16,
        OutputRange = [0f, 1f],
    };

    private static void SameJson(QuantizationConfig actual, QuantizationConfig expected) =>
        JsonNode.DeepEquals(JsonNode.Parse(actual.ToJson()), JsonNode.Parse(expected.ToJson())).Should().BeTrue($"{actual.ToJson()}\nshould be\n{expected.ToJson()}");

    private static List<string> Violations(JsonSchema schema, JsonElement instance)
    {
        var results = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        var errors = (results.Details ?? []).Prepend(results).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}")).ToList();
        return errors.Count > 0 ? errors : ["invalid (no message)"];
    }

    private static string Pascal(string camel) => char.ToUpperInvariant(camel[0]) + camel[1..];

    private static bool IsReferenced(string definition) => SchemaNode.Value.ToJsonString().Contains($"\"#/$defs/{definition}\"", StringComparison.Ordinal);

    /// <summary>A schema node with its <c>$ref</c> followed (the definition's keywords under the node's own).</summary>
    private static JsonObject Resolve(JsonObject node)
    {
        if (node["$ref"]?.GetValue<string>() is not { } reference)
        {
            return node;
        }

        reference.Should().StartWith("#/$defs/");
        var resolved = Resolve(Defs[reference["#/$defs/".Length..]]!.AsObject()).DeepClone().AsObject();
        foreach (var (key, value) in node.Where(kv => kv.Key != "$ref"))
        {
            resolved[key] = value?.DeepClone();
        }

        return resolved;
    }

    /// <summary>The node for a value that may be null: the non-null branch of an <c>anyOf</c> with <c>{"type": "null"}</c>, and whether null is allowed.</summary>
    private static (JsonObject Node, bool Nullable) Unwrap(JsonObject node)
    {
        if (node["anyOf"] is JsonArray branches && branches.Any(b => b!["type"]?.ToJsonString() == "\"null\""))
        {
            branches.Should().HaveCount(2);
            var other = branches.Single(b => b!["type"]?.ToJsonString() != "\"null\"")!.AsObject();
            return (Resolve(other), true);
        }

        var resolved = Resolve(node);
        return (resolved, Types(resolved).Contains("null"));
    }

    private static List<string> Types(JsonObject node) => node["type"] switch
    {
        JsonArray many => [.. many.Select(t => t!.GetValue<string>())],
        JsonValue one => [one.GetValue<string>()],
        _ => [],
    };

    /// <summary>Checks that an object schema declares exactly the serializer's members of <paramref name="type"/>, each with the right type.</summary>
    private static void CheckObject(Type type, JsonObject node, string path, HashSet<Type> visited, List<string> problems)
    {
        if (!visited.Add(type))
        {
            return;
        }

        var contract = Options.GetTypeInfo(type);
        var declared = node["properties"]!.AsObject();
        if (node["additionalProperties"]?.GetValue<bool>() != false)
        {
            problems.Add($"{path}: additionalProperties must be false (the serializer refuses unknown members of {type.Name})");
        }

        foreach (var name in contract.Properties.Select(p => p.Name).Except(declared.Select(d => d.Key)))
        {
            problems.Add($"{path}/{name}: {type.Name} has it, the schema does not");
        }

        foreach (var name in declared.Select(d => d.Key).Except(contract.Properties.Select(p => p.Name)))
        {
            problems.Add($"{path}/{name}: the schema declares it, {type.Name} has no such member");
        }

        var nullability = new NullabilityInfoContext();
        foreach (var property in contract.Properties.Where(p => declared.ContainsKey(p.Name)))
        {
            var member = declared[property.Name]!.AsObject();
            if (member["description"]?.GetValue<string>() is not { Length: > 0 })
            {
                problems.Add($"{path}/{property.Name}: no description");
            }

            var info = property.AttributeProvider is PropertyInfo p ? nullability.Create(p) : null;
            CheckValue(property.PropertyType, info, member, $"{path}/{property.Name}", visited, problems);
        }
    }

    /// <summary>Checks one value's schema against its .NET type (and nullability, where the member tells it).</summary>
    private static void CheckValue(Type type, NullabilityInfo? info, JsonObject schema, string path, HashSet<Type> visited, List<string> problems)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        bool nullable = underlying is not null || info?.ReadState == NullabilityState.Nullable;
        type = underlying ?? type;
        var (node, schemaNullable) = Unwrap(schema);
        if (schemaNullable != nullable)
        {
            problems.Add($"{path}: the schema {(schemaNullable ? "allows" : "refuses")} null, the member is {(nullable ? "" : "not ")}nullable");
        }

        var types = Types(node).Where(t => t != "null").ToList();
        void Expect(string jsonType)
        {
            if (!types.SequenceEqual([jsonType]))
            {
                problems.Add($"{path}: type [{string.Join(", ", types)}], expected {jsonType} for {type.Name}");
            }
        }

        if (type.IsEnum)
        {
            string? reference = (schema["anyOf"] is JsonArray branches ? branches.Select(b => b!["$ref"]).FirstOrDefault(r => r is not null) : schema["$ref"])?.GetValue<string>();
            if (reference != $"#/$defs/{char.ToLowerInvariant(type.Name[0])}{type.Name[1..]}")
            {
                problems.Add($"{path}: {type.Name} must refer to its definition, not {reference ?? "nothing"}");
            }

            Expect("string");
        }
        else if (type == typeof(bool))
        {
            Expect("boolean");
        }
        else if (type == typeof(int) || type == typeof(long))
        {
            Expect("integer");
        }
        else if (type == typeof(float) || type == typeof(double))
        {
            Expect("number");
        }
        else if (type == typeof(string))
        {
            Expect("string");
        }
        else if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            Expect("object");
            if (node["additionalProperties"] is JsonObject values)
            {
                CheckValue(type.GetGenericArguments()[1], info?.GenericTypeArguments[1], values, $"{path}/*", visited, problems);
            }
            else
            {
                problems.Add($"{path}: a map needs additionalProperties with the schema of its values");
            }
        }
        else if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            Expect("array");
            var element = type.GetGenericArguments()[0];
            var elementInfo = info?.GenericTypeArguments[0];
            var itemSchemas = node["prefixItems"] is JsonArray prefix ? prefix.Select(i => i!.AsObject()).ToList() : [];
            if (node["items"] is JsonObject items)
            {
                itemSchemas.Add(items);
            }

            if (itemSchemas.Count == 0)
            {
                problems.Add($"{path}: a list needs items or prefixItems");
            }

            foreach (var item in itemSchemas)
            {
                CheckValue(element, elementInfo, item, $"{path}/[]", visited, problems);
            }
        }
        else if (type.IsClass && !typeof(IEnumerable).IsAssignableFrom(type))
        {
            Expect("object");
            string expected = $"#/$defs/{char.ToLowerInvariant(type.Name[0])}{type.Name[1..]}";
            string? reference = (schema["anyOf"] is JsonArray branches ? branches.Select(b => b!["$ref"]).FirstOrDefault(r => r is not null) : schema["$ref"])?.GetValue<string>();
            if (reference != expected)
            {
                problems.Add($"{path}: {type.Name} must refer to {expected}, not {reference ?? "nothing"}");
            }

            CheckObject(type, node, expected, visited, problems);
        }
        else
        {
            problems.Add($"{path}: no rule for {type}");
        }
    }

    /// <summary>Adds the declared name of every member in <paramref name="json"/> to <paramref name="written"/>, and undeclared ones to <paramref name="undeclared"/>.</summary>
    private static void CollectNames(JsonNode? json, JsonObject schema, string path, HashSet<string> written, List<string> undeclared)
    {
        if (json is null)
        {
            return;
        }

        var (node, _) = Unwrap(schema);
        switch (json)
        {
            case JsonObject obj when node["properties"] is JsonObject properties:
                foreach (var (key, value) in obj)
                {
                    if (properties[key] is JsonObject member)
                    {
                        written.Add($"{path}/{key}");
                        CollectNames(value, member, $"{path}/{key}", written, undeclared);
                    }
                    else
                    {
                        undeclared.Add($"{path}/{key}");
                    }
                }

                break;
            case JsonObject obj when node["additionalProperties"] is JsonObject values:
                foreach (var (_, value) in obj)
                {
                    CollectNames(value, values, $"{path}/*", written, undeclared);
                }

                break;
            case JsonArray array when node["items"] is JsonObject items:
                foreach (var item in array)
                {
                    CollectNames(item, items, $"{path}/[]", written, undeclared);
                }

                break;
        }
    }

    /// <summary>The declared member names of an object schema and of the objects below it, as paths like those of <see cref="CollectNames"/>.</summary>
    private static IEnumerable<string> DeclaredNames(JsonObject schema, string path)
    {
        var (node, _) = Unwrap(schema);
        if (node["properties"] is JsonObject properties)
        {
            foreach (var (key, member) in properties)
            {
                yield return $"{path}/{key}";
                foreach (var below in DeclaredNames(member!.AsObject(), $"{path}/{key}"))
                {
                    yield return below;
                }
            }
        }
        else if (node["additionalProperties"] is JsonObject values)
        {
            foreach (var below in DeclaredNames(values, $"{path}/*"))
            {
                yield return below;
            }
        }
        else if (node["items"] is JsonObject items)
        {
            foreach (var below in DeclaredNames(items, $"{path}/[]"))
            {
                yield return below;
            }
        }
    }

    private static bool ContainsNull(JsonNode? node) => node switch
    {
        null => true,
        JsonObject obj => obj.Any(kv => ContainsNull(kv.Value)),
        JsonArray array => array.Any(ContainsNull),
        _ => false,
    };

    private static void CompareDefaults(JsonObject schema, JsonObject written, string path, List<string> problems, string? except = null)
    {
        foreach (var (name, member) in schema["properties"]!.AsObject().Where(kv => kv.Key != except))
        {
            if (!member!.AsObject().TryGetPropertyValue("default", out var declared))
            {
                problems.Add($"{path}/{name}: no default");
            }
            else if (!JsonNode.DeepEquals(declared, written[name]))
            {
                problems.Add($"{path}/{name}: default {declared?.ToJsonString() ?? "null"}, written {written[name]?.ToJsonString() ?? "null"}");
            }
        }
    }
}
