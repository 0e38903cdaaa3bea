using System.Globalization;
using System.Text;

namespace OstreeContainer.Ostree.GVariant;

/// <summary>Display form of values, close to GLib's <c>g_variant_print</c>; for humans, not parsing.</summary>
public static class GVariantText
{
    /// <summary>Formats <paramref name="value"/> of type <paramref name="type"/>.</summary>
    public static string Format(GVariantType type, object? value)
    {
        var sb = new StringBuilder();
        Append(sb, type, value);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, GVariantType type, object? value)
    {
        switch (type.Kind)
        {
            case 's' or 'o' or 'g':
                sb.Append('\'').Append(((string)value!).Replace("'", "\\'", StringComparison.Ordinal)).Append('\'');
                return;
            case 'b':
                sb.Append((bool)value! ? "true" : "false");
                return;
            case 'v':
                var v = (Variant)value!;
                sb.Append('<');
                Append(sb, v.Type, v.Value);
                sb.Append('>');
                return;
            case 'm':
                if (value is null)
                {
                    sb.Append("nothing");
                }
                else
                {
                    Append(sb, type.Element!, value);
                }

                return;
            case 'a' when type.IsByteArray:
                sb.Append("0x").Append(Convert.ToHexStringLower((byte[])value!));
                return;
            case 'a':
            {
                var items = (object[])value!;
                var isDict = type.Element!.Kind == '{';
                sb.Append(isDict ? '{' : '[');
                for (var i = 0; i < items.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    if (isDict)
                    {
                        var entry = (object[])items[i];
                        Append(sb, type.Element.Members[0], entry[0]);
                        sb.Append(": ");
                        Append(sb, type.Element.Members[1], entry[1]);
                    }
                    else
                    {
                        Append(sb, type.Element, items[i]);
                    }
                }

                sb.Append(isDict ? '}' : ']');
                return;
            }

            case '(' or '{':
            {
                var members = (object[])value!;
                sb.Append('(');
                for (var i = 0; i < members.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    Append(sb, type.Members[i], members[i]);
                }

                sb.Append(')');
                return;
            }

            default:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                return;
        }
    }
}
