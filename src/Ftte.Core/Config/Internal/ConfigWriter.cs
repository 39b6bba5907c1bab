using System.Collections;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ftte.Core.Config.Internal;

/// <summary>Writes values in the shape the binder reads: camelCase keys in member order, enums in kebab-case, sizes in bytes, durations in seconds.</summary>
internal static class ConfigWriter
{
    public static string Write(object? value, ValueSpec spec, bool indented)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions
        {
            Indented = indented,
            NewLine = "\n",
            // Configuration is read by people: keep non-ASCII text and '<', '+' and quotes' neighbours as written.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        using (var writer = new Utf8JsonWriter(buffer, options))
            WriteValue(writer, value, spec);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value, ValueSpec spec)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                return;
            case string s:
                writer.WriteStringValue(s);
                return;
            case bool b:
                writer.WriteBooleanValue(b);
                return;
            case ulong u:
                writer.WriteNumberValue(u);
                return;
            case float f:
                writer.WriteNumberValue(f);
                return;
            case double d:
                writer.WriteNumberValue(d);
                return;
            case Enum e:
                writer.WriteStringValue(spec.Enum.NameOf(e));
                return;
        }
        switch (spec.Kind)
        {
            case ValueKind.Integer:
                writer.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                return;
            case ValueKind.List:
                writer.WriteStartArray();
                foreach (object? item in (IEnumerable)value) WriteValue(writer, item, spec.Item!);
                writer.WriteEndArray();
                return;
            case ValueKind.Map:
                writer.WriteStartObject();
                foreach (var (key, item) in Entries(value))
                {
                    writer.WritePropertyName(key);
                    WriteValue(writer, item, spec.Item!);
                }
                writer.WriteEndObject();
                return;
            case ValueKind.Object:
                writer.WriteStartObject();
                foreach (var member in spec.Object.Members)
                {
                    writer.WritePropertyName(member.Key);
                    WriteValue(writer, member.Property.GetValue(value), member.Spec);
                }
                writer.WriteEndObject();
                return;
            default:
                throw new InvalidOperationException($"Cannot write {value.GetType()} as {spec.Kind}.");
        }
    }

    /// <summary>A map's entries in its enumeration order (insertion order for the dictionaries the binder builds).</summary>
    private static IEnumerable<(string Key, object? Value)> Entries(object map)
    {
        foreach (object? entry in (IEnumerable)map)
        {
            if (entry is DictionaryEntry d)
            {
                yield return ((string)d.Key, d.Value);
                continue;
            }
            var type = entry!.GetType();
            yield return ((string)type.GetProperty("Key")!.GetValue(entry)!, type.GetProperty("Value")!.GetValue(entry));
        }
    }
}
