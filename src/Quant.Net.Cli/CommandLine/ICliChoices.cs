namespace Quant.Net.Cli;

/// <summary>What the tests read from any <see cref="CliChoices{T}"/>: its option, names, values and the values deliberately not offered.</summary>
internal interface ICliChoices
{
    string Option { get; }

    IReadOnlyList<string> Names { get; }

    /// <summary>The values behind <see cref="Names"/>; tuples stand for several settings at once.</summary>
    IReadOnlyList<object> Values { get; }

    /// <summary>Enum members left off the command line on purpose (each with its reason in the table's source).</summary>
    IReadOnlyList<object> NotOffered { get; }
}
