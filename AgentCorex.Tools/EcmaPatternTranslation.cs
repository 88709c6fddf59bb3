using System.Text;
using System.Text.RegularExpressions;

namespace AgentCorex.Tools;

/// <summary>
/// A published pattern rewritten so that .NET, without backtracking, matches what ECMA-262 (JSON Schema's
/// <c>pattern</c>, client validators such as ajv, with or without the <c>u</c> flag) matches. .NET's <c>\d</c>, <c>\w</c>
/// and <c>\s</c> are Unicode's (<c>١٢٣</c> is <c>\d+</c> to it), ECMA-262's are ASCII's (<c>\s</c> its WhiteSpace and
/// LineTerminator), and its <c>.</c> stops at every line terminator, not at <c>\n</c> alone: each is written out as ECMA-262's
/// set. Syntax of .NET's alone, which a client's validator reads otherwise or refuses (<c>\A</c>, <c>\z</c>, <c>\Z</c>,
/// <c>\G</c>, <c>\e</c>, <c>\a</c>, <c>\p{L}</c>, which is a category only with the <c>u</c> flag, a class subtraction,
/// a <c>]</c> first in a class, inline options, a comment, a group named in quotes or by a number), is refused, naming it.
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
    /// (<c>\b</c>, <c>\B</c>) or that ECMA-262 reads otherwise or refuses (see the class).</exception>
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
                    : DotNetEscape(escaped) is { } refused ? throw refused
                    : Shorthand(escaped) is { } set ? $"[{(char.IsUpper(escaped) ? "^" : "")}{set}]"
                    : $"\\{escaped}");
            }
            else if (c == '[')
            {
                text.Append(CharacterClass());
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
                    RefuseDotNetGroup();
                }
                text.Append(c == '.' ? AnyButLineTerminator : c);
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// The class opening at <c>i</c>, read up to its <c>]</c> (where <c>i</c> is left). A <c>]</c> first, a character to
    /// .NET, closes the class to ECMA-262 (<c>[]</c> matches nothing, <c>[^]</c> any character): refused. A negated shorthand (<c>[\D_]</c>) cannot join the others in one class once <c>\D</c> is <c>[^0-9]</c>:
    /// the class becomes an alternation, or (negated) a subtraction.
    /// </summary>
    private string CharacterClass()
    {
        var negated = ++i < pattern.Length && pattern[i] == '^';
        i += negated ? 1 : 0;
        var members = new StringBuilder();
        var negatedSets = new SortedSet<string>(StringComparer.Ordinal);
        var canStartRange = false; // the last member a character, not itself a range's end
        var inRange = false;
        if (i < pattern.Length && pattern[i] == ']')
        {
            throw Refused(@"has a ']' first in a class, a character to .NET, where ECMA-262 closes the class ([] matches nothing, "
                + @"[^] any character); write \].");
        }
        for (var first = true; i < pattern.Length && pattern[i] != ']'; i++, first = false)
        {
            var c = pattern[i];
            var next = i + 1 < pattern.Length ? pattern[i + 1] : '\0';
            if (c == '-' && !first && next == '[')
            {
                throw Refused("has a class subtraction (-[...]), .NET's alone: ECMA-262 reads [a-z-[aeiou]] as the class "
                    + "[a-z-[aeiou] and a ']'; write the characters left.");
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
            if (c == '\\' && DotNetEscape(next) is { } refused)
            {
                throw refused;
            }
            // Escaped: a '-' that is no range's makes none with a shorthand's set beside it, and a '^' that comes first in
            // the class it is moved into below is the character there too.
            members.Append(c == '\\' ? Escape() : c is '-' or '^' or '[' ? $"\\{c}" : c);
            canStartRange = !inRange;
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
        if (negated)
        {
            // [^a\D] is a digit but a: [0-9-[a]]. Two negated shorthands in one ([^\D\S]) are left to be written out.
            return negatedSets.Count == 1 ? $"[{negatedSets.Min}{(members.Length > 0 ? $"-[{members}]" : "")}]"
                : throw Refused(@"has two negated shorthands in a negated class (as [^\D\S]); write the characters it matches.");
        }
        var alternatives = negatedSets.Select(s => $"[^{s}]").Prepend(members.Length > 0 ? $"[{members}]" : "").Where(a => a != "");
        return $"(?:{string.Join('|', alternatives)})";
    }

    /// <summary>The escape at <c>i</c> (its backslash), whole: <c>\x41</c>, <c>\u0041</c>, <c>\cA</c>; <c>i</c> left on its last character.</summary>
    private string Escape()
    {
        var start = i;
        var length = i + 1 >= pattern.Length ? 1 : pattern[i + 1] switch
        {
            'x' => 4,
            'u' => 6,
            'c' => 3,
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
    /// The refusal of <c>\<paramref name="c"/></c> where it is .NET's alone: an anchor, an escape of a control character or
    /// a Unicode category, each of which ECMA-262 reads as the letter without the <c>u</c> flag (the category with it only).
    /// </summary>
    private ArgumentException? DotNetEscape(char c) => c switch
    {
        'A' or 'G' => RefusedEscape(c, c == 'A' ? "the start of the string" : "where the last match ended", "^"),
        'z' or 'Z' => RefusedEscape(c, "the end of the string", "$ (read as the very end)"),
        'e' => RefusedEscape(c, "the escape character U+001B", @"\x1B"),
        'a' => RefusedEscape(c, "the bell U+0007", @"\x07"),
        'p' or 'P' => Refused($"has \\{c}, a Unicode category to .NET, and to ECMA-262 with the u flag only (without it, the letter "
            + $"{c}); write the characters it stands for, as \\u escapes in a class."),
        _ => null,
    };

    private ArgumentException RefusedEscape(char c, string meaning, string instead) => Refused(
        $"has \\{c}, .NET's alone: {meaning} to .NET, the letter {c} to ECMA-262 without the u flag (refused with it); write {instead}.");

    /// <summary>
    /// A group of .NET's alone at <c>i</c>: a comment, a name in quotes or a number, inline options. Of the options,
    /// <c>m</c> (<c>$</c> the end of a line), <c>i</c> (.NET's case folding is not ECMA-262's: <c>(?i)k</c> matches the
    /// Kelvin sign K) and <c>s</c> change what the pattern matches; <c>x</c>, <c>n</c> and the modifiers ECMA-262 has
    /// since 2025 (<c>(?i:...)</c>, which older validators refuse) are refused as options.
    /// </summary>
    private void RefuseDotNetGroup()
    {
        var group = pattern.AsSpan(i);
        if (group.StartsWith("(?#"))
        {
            throw Refused("has a comment (?#...), .NET's alone, which ECMA-262 refuses; leave it out.");
        }
        if (group.StartsWith("(?'"))
        {
            throw Refused("names a group in quotes (?'name'...), .NET's alone; write (?<name>...).");
        }
        if (group.StartsWith("(?<") && group.Length > 3 && char.IsAsciiDigit(group[3]))
        {
            throw Refused("names a group by a number (?<1>...), .NET's alone: ECMA-262's group names are identifiers.");
        }
        if (InlineOptions().Match(pattern, i) is not { Success: true, Value: not ("(?:" or "(?)") } options)
        {
            return;
        }
        var set = options.Groups[1].Value;
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
        throw Refused($"sets the inline options {options.Value}, .NET's: ECMA-262 has no x (white space and # comments ignored) nor n "
            + "(only named groups captured), and older validators refuse any; write the pattern without them.");
    }

    private ArgumentException WordBoundary(char escaped) => Refused(
        $"has \\{escaped}: ECMA-262's word boundary is by ASCII word characters ([a-zA-Z0-9_]), .NET's by Unicode's, and it cannot "
        + "be written otherwise without backtracking; match the characters on either side instead.");

    private ArgumentException Refused(string why) => new($"The pattern '{pattern}' {why}", "pattern");

    [GeneratedRegex(@"\G\(\?([imnsx]*)(?:-[imnsx]*)?[:)]", RegexOptions.CultureInvariant)]
    private static partial Regex InlineOptions();
}
