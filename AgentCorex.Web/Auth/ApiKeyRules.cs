namespace AgentCorex.Web.Auth;

public static class ApiKeyRules
{
    public const int MaxNameLength = 100;

    /// <summary>
    /// Characters a name refuses: control characters (Cc: NUL, newline, U+0085...), which would corrupt listings, logs and
    /// terminals, and format characters (Cf: bidi controls such as U+202E, zero-width ones, the BOM, the soft hyphen...)
    /// and line and paragraph separators (Zl, Zp), which reorder, hide or break what the dashboard and logs show; but the
    /// zero-width non-joiner and joiner (U+200C, U+200D), which Persian and other scripts write within words and emoji
    /// sequences (👨‍👩‍👧) between their parts, and which move and hide nothing (they are <see cref="Invisible"/>). Those of
    /// the Basic Multilingual Plane: one beyond it (a tag character, as in a flag emoji) is a surrogate pair, which no
    /// pattern names alike with and without ECMA-262's u flag.
    /// </summary>
    internal const string Refused = @"\u0000-\u001F\u007F-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B\u200E\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB";

    /// <summary>
    /// Characters that show nothing and are not refused: white space (Zs) and Unicode's other default-ignorable code
    /// points (the combining grapheme joiner, the zero-width joiners, Hangul fillers, variation selectors...). A name of
    /// only these is blank.
    /// </summary>
    internal const string Invisible = @"\u0020\u00A0\u1680\u2000-\u200A\u200C\u200D\u202F\u205F\u3000\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180D\u180F\u2065\u3164\uFE00-\uFE0F\uFFA0\uFFF0-\uFFF8";

    /// <summary>
    /// A name with no <see cref="Refused"/> character and at least one visible one. A pattern rather than a check in
    /// code, so that the OpenAPI document states it; (?!\n) because .NET's $ also matches before a final newline.
    /// </summary>
    public const string NamePattern = $"^[{Invisible}]*[^{Refused}{Invisible}][^{Refused}]*(?!\\n)$";

    public static readonly string[] Plans = ["free", "pro", "enterprise"];
}
