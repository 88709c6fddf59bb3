using System.Text;
using System.Text.RegularExpressions;

namespace AgentCorex.Tools;

/// <summary>
/// A published pattern rewritten so that .NET, without backtracking, matches what ECMA-262 (JSON Schema's
/// <c>pattern</c>, client validators such as ajv, with or without the <c>u</c> flag) matches. .NET's <c>\d</c>, <c>\w</c>
/// and <c>\s</c> are Unicode's (<c>١٢٣</c> is <c>\d+</c> to it), ECMA-262's are ASCII's (<c>\s</c> its WhiteSpace and
/// LineTerminator), and its <c>.</c> stops at every line terminator, not at <c>\n</c> alone: each is written out as ECMA-262's
/// set. Escapes, character classes and comments are read as .NET reads them: syntax of .NET's alone (<c>\A</c>, <c>\Z</c>,
/// <c>\p{L}</c> for a validator without the <c>u</c> flag, a class subtraction, the inline <c>x</c> and <c>n</c> options) is
/// not refused, and a client's validator may read it otherwise or refuse it: a tool's author keeps to ECMA-262's syntax.
/// </summary>
internal sealed partial class EcmaPatternTranslation
{
    /// <summary>The end <c>(?!\n)$</c>, the one lookahead read (as <c>\z</c>): without backtracking .NET runs none.</summary>
    internal const string LookaheadEnd = @"(?!\n)$";

    private const string Digit = "0-9";
    private const string Word = "a-zA-Z0-9_";

    /// <summary>WhiteSpace (tab, VT, FF, ZWNBSP, Unicode's Zs) and LineTerminator: .NET's <c>\s</c> has U+0085, not U+FEFF.</summary>
    private const string Space = @"\t\n\v\f\r\x20\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF";

    private const string AnyButLineTerminator = @"[^\n\r\u2028\u2029]";

    private readonly string pattern;
    private int i;

    private EcmaPatternTranslation(string pattern) => this.pattern = pattern;

    /// <summary>
    /// The pattern as .NET checks it: each <c>$</c> (or <c>(?!\n)$</c>) outside a character class as <c>\z</c>, each
    /// <c>\d</c>, <c>\w</c>, <c>\s</c>, their negations and <c>.</c> as ECMA-262's set.
    /// </summary>
    /// <exception cref="ArgumentException">A construct whose ECMA-262 meaning cannot be written without backtracking
    /// (<c>\b</c>, <c>\B</c>, a negated shorthand in a class subtraction) or that has no ECMA-262 meaning (an inline
    /// <c>m</c>, <c>i</c> or <c>s</c> option).</exception>
    internal static string ToDotNet(string pattern) => new EcmaPatternTranslation(pattern).Read();

    private string Read()
    {
        var text = new StringBuilder(pattern.Length + 16);
        for (i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var escaped = pattern[++i];
                text.Append(escaped is 'b' or 'B' ? throw WordBoundary(escaped)
                    : Shorthand(escaped) is { } set ? $"[{(char.IsUpper(escaped) ? "^" : "")}{set}]"
                    : $"\\{escaped}");
            }
            else if (c == '[')
            {
                text.Append(CharacterClass(subtracted: false));
            }
            else if (pattern.AsSpan(i).StartsWith("(?#"))
            {
                var end = pattern.IndexOf(')', i);
                text.Append(pattern, i, (end < 0 ? pattern.Length : end + 1) - i);
                i = end < 0 ? pattern.Length : end;
            }
            else if (c == '$' || pattern.AsSpan(i).StartsWith(LookaheadEnd))
            {
                text.Append(@"\z");
                i += c == '$' ? 0 : LookaheadEnd.Length - 1;
            }
            else
            {
                if (c == '(')
                {
                    RefuseInlineOptions();
                }
                text.Append(c == '.' ? AnyButLineTerminator : c);
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// The class opening at <c>i</c>, read up to its <c>]</c> (where <c>i</c> is left) as .NET reads it: a <c>]</c> first
    /// is literal, <c>-[...]</c> subtracts a nested class. A negated shorthand (<c>[\D_]</c>) cannot join the others in
    /// one class once <c>\D</c> is <c>[^0-9]</c>: the class becomes an alternation, or (negated) a subtraction.
    /// </summary>
    private string CharacterClass(bool subtracted)
    {
        var negated = ++i < pattern.Length && pattern[i] == '^';
        i += negated ? 1 : 0;
        var members = new StringBuilder();
        var negatedSets = new SortedSet<string>(StringComparer.Ordinal);
        var hasSubtraction = false;
        var canStartRange = false; // the last member a character, not itself a range's end
        var inRange = false;
        for (var first = true; i < pattern.Length && (first || pattern[i] != ']'); i++, first = false)
        {
            var c = pattern[i];
            var next = i + 1 < pattern.Length ? pattern[i + 1] : '\0';
            if (c == '-' && !first && next == '[')
            {
                i++;
                members.Append('-').Append(CharacterClass(subtracted: true));
                hasSubtraction = true;
                canStartRange = inRange = false;
                continue;
            }
            if (c == '-' && canStartRange && next is not ('\0' or ']'))
            {
                members.Append('-');
                canStartRange = false;
                inRange = true;
                continue;
            }
            if (c == '\\' && Shorthand(next) is { } set)
            {
                if (inRange)
                {
                    throw Refused($"ends a range with \\{next}, a class of characters, not one.");
                }
                i++;
                if (char.IsUpper(next))
                {
                    negatedSets.Add(set);
                }
                else
                {
                    members.Append(set);
                }
                canStartRange = false;
                continue;
            }
            // Escaped: a '-' that is no range's makes none with a shorthand's set beside it, and a '^' or ']' first in the
            // class moved into another below is the character there too.
            members.Append(c == '\\' ? Escape() : c is '-' or '^' or ']' or '[' ? $"\\{c}" : c);
            canStartRange = !inRange && !(c == '\\' && next is ('p' or 'P'));
            inRange = false;
        }
        if (i >= pattern.Length)
        {
            throw Refused("opens a character class it does not close.");
        }
        var not = negated ? "^" : "";
        if (negatedSets.Count == 0)
        {
            return $"[{not}{members}]";
        }
        if (subtracted || hasSubtraction)
        {
            throw Refused(@"has a negated shorthand (\D, \W, \S) in a class subtraction, which cannot be written with ECMA-262's sets.");
        }
        if (negated)
        {
            // [^a\D] is a digit but a: [0-9-[a]]. Two negated shorthands in one ([^\D\S]) are left to be written out.
            return negatedSets.Count == 1 ? $"[{negatedSets.Min}{(members.Length > 0 ? $"-[{members}]" : "")}]"
                : throw Refused(@"has two negated shorthands in a negated class (as [^\D\S]); write the characters it matches.");
        }
        var alternatives = negatedSets.Select(s => $"[^{s}]").Prepend(members.Length > 0 ? $"[{members}]" : "").Where(a => a != "");
        return $"(?:{string.Join('|', alternatives)})";
    }

    /// <summary>The escape at <c>i</c> (its backslash), whole: <c>\x41</c>, <c>\u0041</c>, <c>\cA</c>, <c>\p{L}</c>; <c>i</c> left on its last character.</summary>
    private string Escape()
    {
        var start = i;
        var braceEnd = pattern.IndexOf('}', i);
        var length = i + 1 >= pattern.Length ? 1 : pattern[i + 1] switch
        {
            'x' => 4,
            'u' => 6,
            'c' => 3,
            'p' or 'P' when braceEnd >= 0 => braceEnd - i + 1,
            _ => 2,
        };
        i = Math.Min(i + length, pattern.Length) - 1;
        return pattern[start..(i + 1)];
    }

    /// <summary>ECMA-262's set for the shorthand <c>\<paramref name="c"/></c> (its negation's, for <c>D</c>, <c>W</c>, <c>S</c>), if it is one.</summary>
    private static string? Shorthand(char c) => c switch
    {
        'd' or 'D' => Digit,
        'w' or 'W' => Word,
        's' or 'S' => Space,
        _ => null,
    };

    /// <summary>
    /// An inline option that changes what the pattern matches, where ECMA-262 has none to set: <c>m</c> (<c>$</c> the end of a
    /// line), <c>i</c> (.NET's case folding is not ECMA-262's: <c>(?i)k</c> matches the Kelvin sign K) and <c>s</c>.
    /// </summary>
    private void RefuseInlineOptions()
    {
        var set = InlineOptions().Match(pattern, i) is { Success: true } options ? options.Groups[1].Value : "";
        if (set.Contains('m'))
        {
            throw Refused("sets the inline option m: its $ would be the end of a line, where JSON Schema reads the end of the string.");
        }
        if (set.Contains('i'))
        {
            throw Refused("sets the inline option i: .NET's case-insensitive match is not ECMA-262's ((?i)k matches the Kelvin sign K); write both cases, [Kk].");
        }
        if (set.Contains('s'))
        {
            throw Refused(@"sets the inline option s: . is ECMA-262's, any character but a line terminator; write [\s\S] for any character.");
        }
    }

    private ArgumentException WordBoundary(char escaped) => Refused(
        $"has \\{escaped}: ECMA-262's word boundary is by ASCII word characters ([a-zA-Z0-9_]), .NET's by Unicode's, and it cannot "
        + "be written otherwise without backtracking; match the characters on either side instead.");

    private ArgumentException Refused(string why) => new($"The pattern '{pattern}' {why}", "pattern");

    [GeneratedRegex(@"\G\(\?([imnsx]*)(?:-[imnsx]*)?[:)]", RegexOptions.CultureInvariant)]
    private static partial Regex InlineOptions();
}
