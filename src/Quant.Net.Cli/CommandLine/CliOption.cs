namespace Quant.Net.Cli;

/// <summary>
/// One option of a command, the single source for parsing and for <c>--help</c>: a flag when <see cref="Value"/> is
/// null, else an option taking a value, restricted to <see cref="Choices"/> when given.
/// </summary>
/// <param name="Name">The option, e.g. <c>--target</c>.</param>
/// <param name="Value">Placeholder of its value in the help (<c>NAME</c>, <c>DIR</c>), or null for a flag.</param>
/// <param name="Help">What it does (one sentence; the help wraps it).</param>
/// <param name="Choices">The values it accepts, listed in the help and in the error for any other value.</param>
/// <param name="Default">The value when the option is absent, shown in the help.</param>
/// <param name="Alias">A short alias (<c>-o</c>).</param>
/// <param name="Table">The table the choices come from, when each names a value the command uses (<see cref="CliChoices{T}"/>).</param>
internal sealed record CliOption(string Name, string? Value, string Help, IReadOnlyList<string>? Choices = null, string? Default = null, string? Alias = null, ICliChoices? Table = null)
{
    public bool IsFlag => Value is null;
}
