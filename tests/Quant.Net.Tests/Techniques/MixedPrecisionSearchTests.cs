using FluentAssertions;
using Quant.Net.Techniques;

namespace Quant.Net.Tests.Techniques;

public sealed class MixedPrecisionSearchTests
{
    private static readonly PrecisionCandidate[] Candidates = [PrecisionCandidate.W4A8, PrecisionCandidate.W16A16, PrecisionCandidate.W8A8, PrecisionCandidate.W8A8];

    /// <summary>A score of 100 minus a penalty per layer and candidate (additive, so every step's score is known).</summary>
    private static double Score(IReadOnlyDictionary<string, PrecisionCandidate> assignment) => 100 - assignment.Sum(kv => (kv.Key, kv.Value.ToString()) switch
    {
        ("a", "W8A8") => 0.1, ("a", "W4A8") => 2.0,
        ("b", "W8A8") => 0.05, ("b", "W4A8") => 0.2,
        ("c", "W8A8") => 0.0, ("c", "W4A8") => 0.3,
        _ => 0.0,
    });

    [Fact]
    public void Phase_one_then_greedy_lowering_in_order_of_least_harm_within_the_minimum()
    {
        var calls = new List<Dictionary<string, PrecisionCandidate>>();
        var result = MixedPrecisionSearch.Run(["a", "b", "c"], Candidates, 99.5, a =>
        {
            calls.Add(new Dictionary<string, PrecisionCandidate>(a));
            return Score(a);
        });

        result.Start.Should().Be(PrecisionCandidate.W16A16, "the most expensive candidate, duplicates ignored");
        result.Sensitivity.Select(s => (s.Layer, s.Candidate.ToString(), Math.Round(s.Score, 6))).Should().Equal(
            ("a", "W8A8", 99.9), ("a", "W4A8", 98.0), ("b", "W8A8", 99.95), ("b", "W4A8", 99.8), ("c", "W8A8", 100.0), ("c", "W4A8", 99.7));
        // Least harm first: c→W8A8 (100), b→W8A8, a→W8A8, b→W4A8 (kept: 99.7), c→W4A8 (99.4 < 99.5), a→W4A8 (97.8).
        result.Steps.Select(s => (s.Layer, s.From.ToString(), s.To.ToString(), s.Accepted)).Should().Equal(
            ("c", "W16A16", "W8A8", true), ("b", "W16A16", "W8A8", true), ("a", "W16A16", "W8A8", true),
            ("b", "W8A8", "W4A8", true), ("c", "W8A8", "W4A8", false), ("a", "W8A8", "W4A8", false));
        result.Steps.Should().OnlyContain(s => s.Accepted == (s.Score >= 99.5));
        result.Plan.Should().BeEquivalentTo(new Dictionary<string, PrecisionCandidate>
        {
            ["a"] = PrecisionCandidate.W8A8, ["b"] = PrecisionCandidate.W4A8, ["c"] = PrecisionCandidate.W8A8,
        });
        Score(result.Plan).Should().BeGreaterThanOrEqualTo(99.5);

        // The documented call order: the phase-1 trials (one layer changed from the start), then one call per step.
        calls.Should().HaveCount(result.Sensitivity.Count + result.Steps.Count);
        for (int i = 0; i < result.Sensitivity.Count; i++)
        {
            calls[i].Where(kv => kv.Value != PrecisionCandidate.W16A16).Should().ContainSingle()
                .Which.Should().Be(new KeyValuePair<string, PrecisionCandidate>(result.Sensitivity[i].Layer, result.Sensitivity[i].Candidate));
        }
    }

    [Fact]
    public void Ties_lower_the_heavier_layer_first_and_nothing_below_the_minimum_is_kept()
    {
        var result = MixedPrecisionSearch.Run(["small", "big"], [PrecisionCandidate.W8A8, PrecisionCandidate.W4A8], 99.0,
            a => a.Values.Count(c => c == PrecisionCandidate.W4A8) switch { 0 => 100, 1 => 99.5, _ => 98.0 }, layer => layer == "big" ? 1000 : 1);
        result.Steps.Select(s => (s.Layer, s.Accepted)).Should().Equal(("big", true), ("small", false));
        result.Plan["big"].Should().Be(PrecisionCandidate.W4A8);
        result.Plan["small"].Should().Be(PrecisionCandidate.W8A8);
    }

    [Fact]
    public void Candidates_parse_order_and_compare()
    {
        PrecisionCandidate.Parse(" w4a16 ").Should().Be(PrecisionCandidate.W4A16);
        PrecisionCandidate.Parse("fp32").Should().Be(PrecisionCandidate.Fp32);
        PrecisionCandidate.W8A16.ToString().Should().Be("W8A16");
        PrecisionCandidate.Fp32.ToString().Should().Be("FP32");
        foreach (var bad in new[] { "W5A8", "W8A2", "8A8", "W8", "W8A", "FP16" })
        {
            FluentActions.Invoking(() => PrecisionCandidate.Parse(bad)).Should().Throw<FormatException>().WithMessage($"*'{bad}'*");
        }

        PrecisionCandidate.W4A16.IsCheaperThan(PrecisionCandidate.W8A8).Should().BeTrue("both cost 64 BitOps per MAC; fewer weight bits (a smaller model) decide");
        PrecisionCandidate.W8A8.IsCheaperThan(PrecisionCandidate.W4A16).Should().BeFalse();
        PrecisionCandidate.W4A16.IsCheaperThan(PrecisionCandidate.W8A16).Should().BeTrue();
        MixedPrecisionSearch.Order([PrecisionCandidate.W4A8, PrecisionCandidate.Fp32, PrecisionCandidate.W8A16, PrecisionCandidate.W4A8])
            .Should().Equal(PrecisionCandidate.Fp32, PrecisionCandidate.W8A16, PrecisionCandidate.W4A8);
    }

    [Fact]
    public void Bad_arguments_are_refused_by_name()
    {
        static double Any(IReadOnlyDictionary<string, PrecisionCandidate> _) => 1;
        FluentActions.Invoking(() => MixedPrecisionSearch.Run([], Candidates, 0, Any)).Should().Throw<ArgumentException>().WithParameterName("layers");
        FluentActions.Invoking(() => MixedPrecisionSearch.Run(["a", "a"], Candidates, 0, Any)).Should().Throw<ArgumentException>().WithParameterName("layers");
        FluentActions.Invoking(() => MixedPrecisionSearch.Run(["a"], [], 0, Any)).Should().Throw<ArgumentException>().WithParameterName("candidates");
    }
}
