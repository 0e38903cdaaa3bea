using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OstreeContainer.Ostree.GVariant;
using OstreeContainer.Ostree.Objects;

namespace OstreeContainer.ObjectMap;

/// <summary>
/// Commit metadata (<c>a{sv}</c>) as JSON, written directly with <see cref="Utf8JsonWriter"/>
/// (no reflection). Mapping: strings, booleans and numbers as themselves (integers with
/// the value GVariant holds, so fields OSTree stores big-endian appear byte-swapped, as
/// <c>ostree show</c> prints them); <c>ay</c> as a lowercase hex string; other arrays and
/// tuples as arrays; dictionaries as objects with their keys as strings; a maybe as null
/// or its value; a variant as its value. Non-finite doubles become strings.
/// </summary>
internal static class MetadataJson
{
    /// <summary>The dictionary as one JSON object; a repeated key keeps its first value, as lookups do.</summary>
    public static string Format(VariantDictionary metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in metadata.Entries)
            {
                if (seen.Add(key))
                {
                    writer.WritePropertyName(key);
                    WriteValue(writer, value.Type, value.Value);
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter writer, GVariantType type, object? value)
    {
        switch (type.Kind)
        {
            case 'b':
                writer.WriteBooleanValue((bool)value!);
                return;
            case 'y':
                writer.WriteNumberValue((byte)value!);
                return;
            case 'n':
                writer.WriteNumberValue((short)value!);
                return;
            case 'q':
                writer.WriteNumberValue((ushort)value!);
                return;
            case 'i' or 'h':
                writer.WriteNumberValue((int)value!);
                return;
            case 'u':
                writer.WriteNumberValue((uint)value!);
                return;
            case 'x':
                writer.WriteNumberValue((long)value!);
                return;
            case 't':
                writer.WriteNumberValue((ulong)value!);
                return;
            case 'd':
                var d = (double)value!;
                if (double.IsFinite(d))
                {
                    writer.WriteNumberValue(d);
                }
                else
                {
                    writer.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                }

                return;
            case 's' or 'o' or 'g':
                writer.WriteStringValue((string)value!);
                return;
            case 'v':
                var variant = (Variant)value!;
                WriteValue(writer, variant.Type, variant.Value);
                return;
            case 'm':
                if (value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    WriteValue(writer, type.Element!, value);
                }

                return;
            case 'a' when type.IsByteArray:
                writer.WriteStringValue(Convert.ToHexStringLower((byte[])value!));
                return;
            case 'a' when type.Element!.Kind == '{':
                writer.WriteStartObject();
                foreach (object[] entry in (object[])value!)
                {
                    writer.WritePropertyName(KeyString(entry[0]));
                    WriteValue(writer, type.Element.Members[1], entry[1]);
                }

                writer.WriteEndObject();
                return;
            case 'a':
                writer.WriteStartArray();
                foreach (var item in (object[])value!)
                {
                    WriteValue(writer, type.Element, item);
                }

                writer.WriteEndArray();
                return;
            default:
                // Tuples and a lone dictionary entry.
                var members = (object[])value!;
                writer.WriteStartArray();
                for (var i = 0; i < members.Length; i++)
                {
                    WriteValue(writer, type.Members[i], members[i]);
                }

                writer.WriteEndArray();
                return;
        }
    }

    /// <summary>A dictionary key (always a basic type) as a property name.</summary>
    private static string KeyString(object key) => key switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(key, CultureInfo.InvariantCulture) ?? "",
    };
}
