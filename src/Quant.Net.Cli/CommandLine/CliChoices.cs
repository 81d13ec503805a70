namespace Quant.Net.Cli;

/// <summary>
/// The closed set of values of one option and what each means: the single table the option's parsing, its
/// <c>--help</c> listing, its default and the value the command uses are all read from (no second hand-written list).
/// </summary>
/// <typeparam name="T">What a value selects (an enum of the library, a tuple of them, a flag).</typeparam>
/// <param name="option">The option, e.g. <c>--weights</c>.</param>
/// <param name="entries">Each accepted name and its value, in help order.</param>
internal sealed class CliChoices<T>(string option, params (string Name, T Value)[] entries) : ICliChoices where T : notnull
{
    public string Option { get; } = option;

    public IReadOnlyList<string> Names { get; } = [.. entries.Select(e => e.Name)];

    IReadOnlyList<object> ICliChoices.Values => [.. entries.Select(e => (object)e.Value)];

    /// <summary>Enum members deliberately not offered on the command line.</summary>
    public IReadOnlyList<T> NotOffered { get; init; } = [];

    IReadOnlyList<object> ICliChoices.NotOffered => [.. NotOffered.Select(v => (object)v)];

    /// <summary>The option, its choices being these names, with no fixed default.</summary>
    public CliOption ToOption(string value, string help) => new(Option, value, help, Names, Table: this);

    /// <summary>The option, its choices being these names and its default the name of <paramref name="fallback"/>.</summary>
    public CliOption ToOption(string value, string help, T fallback) => new(Option, value, help, Names, NameOf(fallback), Table: this);

    /// <summary>The value named <paramref name="name"/> (the parser has already refused any other name).</summary>
    /// <exception cref="UsageException">The name is not in the table.</exception>
    public T Parse(string name)
    {
        foreach (var (n, v) in entries)
        {
            if (n == name)
            {
                return v;
            }
        }

        throw new UsageException($"{Option} must be one of {string.Join(", ", Names)}, not '{name}'.");
    }

    public string NameOf(T value) => entries.First(e => EqualityComparer<T>.Default.Equals(e.Value, value)).Name;
}
