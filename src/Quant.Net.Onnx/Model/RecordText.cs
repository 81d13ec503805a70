using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Quant.Net.Onnx;

/// <summary>
/// Readable <c>ToString()</c> for the public records: what the compiler's printer writes, except that collections show
/// their first elements and their count ("[conv1, conv2, … (37)]") rather than a generated type name, and numbers are
/// invariant. Each record opts in with <c>private bool PrintMembers(StringBuilder builder) => RecordText.Members(builder, this);</c>.
/// </summary>
internal static class RecordText
{
    private const int Shown = 8;

    public static bool Members(StringBuilder builder, object record)
    {
        bool first = true;
        foreach (var property in record.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || !property.CanRead)
            {
                continue;
            }

            builder.Append(first ? "" : ", ").Append(property.Name).Append(" = ");
            first = false;
            Append(builder, property.GetValue(record));
        }

        return !first;
    }

    private static void Append(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null:
                builder.Append("null");
                break;
            case string text:
                builder.Append(text);
                break;
            case Delegate:
                builder.Append("(function)");
                break;
            case IDictionary dictionary:
                builder.Append('{');
                int shown = 0;
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (shown == Shown)
                    {
                        builder.Append(CultureInfo.InvariantCulture, $", … ({dictionary.Count})");
                        break;
                    }

                    builder.Append(shown++ == 0 ? " " : ", ");
                    Append(builder, entry.Key);
                    builder.Append(": ");
                    Append(builder, entry.Value);
                }

                builder.Append(shown == 0 ? "}" : " }");
                break;
            case IEnumerable sequence:
                builder.Append('[');
                int count = 0;
                foreach (var item in sequence)
                {
                    if (count < Shown)
                    {
                        builder.Append(count == 0 ? "" : ", ");
                        Append(builder, item);
                    }

                    count++;
                }

                builder.Append(count > Shown ? $", … ({count})]" : "]");
                break;
            case IFormattable formattable:
                builder.Append(formattable.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                builder.Append(value);
                break;
        }
    }
}
