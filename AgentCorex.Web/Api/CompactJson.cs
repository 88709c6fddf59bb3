using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace AgentCorex.Web.Api;

/// <summary>
/// A JSON value's text without the white space between its tokens, for what is kept: a client's padding (a megabyte of
/// spaces inside valid JSON) is not stored. All else is copied byte for byte, a string's escapes and a number's digits
/// as the client wrote them. (<see cref="JsonElement.WriteTo"/> would write its own escapes: six bytes, or twelve, for a
/// character its encoder escapes, such as any outside the Basic Multilingual Plane, where the client may have sent four.)
/// </summary>
internal static class CompactJson
{
    private static readonly SearchValues<byte> Space = SearchValues.Create(" \t\r\n"u8);
    private static readonly SearchValues<byte> SpaceOrQuote = SearchValues.Create(" \t\r\n\""u8);
    private static readonly SearchValues<byte> QuoteOrEscape = SearchValues.Create("\"\\"u8);

    public static string Write(JsonElement element)
    {
        var json = JsonMarshal.GetRawUtf8Value(element);
        var buffer = ArrayPool<byte>.Shared.Rent(json.Length);
        var written = 0;
        try
        {
            while (!json.IsEmpty)
            {
                var next = json.IndexOfAny(SpaceOrQuote);
                var copied = next < 0 ? json.Length : json[next] == (byte)'"' ? StringEnd(json, next) : next;
                json[..copied].CopyTo(buffer.AsSpan(written));
                written += copied;
                json = json[copied..];
                var spaces = json.IndexOfAnyExcept(Space);
                json = json[(spaces < 0 ? json.Length : spaces)..];
            }
            return Encoding.UTF8.GetString(buffer, 0, written);
        }
        finally
        {
            // Arguments may hold secrets: the pool's next user does not see them (as JsonDocument clears its own buffer).
            buffer.AsSpan(0, written).Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Where the string opened at <paramref name="quote"/> ends, past its closing quote (the JSON is valid).</summary>
    private static int StringEnd(ReadOnlySpan<byte> json, int quote)
    {
        var at = quote + 1;
        while (true)
        {
            at += json[at..].IndexOfAny(QuoteOrEscape);
            if (json[at] == (byte)'"')
            {
                return at + 1;
            }
            at += 2; // a backslash and the character it escapes, \" and \\ included
        }
    }
}
