using AgentCorex.Tools;

namespace AgentCorex.Tests.Tools;

/// <summary>
/// A published pattern checked as JSON Schema reads it (ECMA-262: <c>$</c> the end of the string, <c>\d</c>, <c>\w</c>,
/// <c>\s</c> and <c>.</c> ECMA-262's sets), without backtracking.
/// </summary>
public sealed class PublishedPatternsTests
{
    [TestCase(@"^a$|^b$", "b", "a\n")]
    [TestCase(@"^(?:a$|b)", "a", "a\n")]
    [TestCase(@"^a(?!\n)$|^b(?!\n)$", "a", "a\n")]
    [TestCase(@"^a$|^b(?!\n)$", "b", "a\n")]
    public void EveryEnd_IsTheEndOfTheString(string pattern, string matches, string doesNot)
    {
        var regex = PublishedPatterns.Strict(pattern);

        Assert.That(regex.IsMatch(matches), Is.True);
        Assert.That(regex.IsMatch(doesNot), Is.False);
    }

    [TestCase(@"^[$]$", "$")]
    [TestCase(@"^a\$$", "a$")]
    [TestCase(@"^[\]$]+$", "]$")]
    [TestCase(@"^[^\]$]$", "x")]
    public void ADollarInAClassOrEscaped_IsTheCharacter(string pattern, string matches)
    {
        var regex = PublishedPatterns.Strict(pattern);

        Assert.That(regex.IsMatch(matches), Is.True);
        Assert.That(regex.IsMatch(matches + "\n"), Is.False);
    }

    // Each with a string ECMA-262's sets match and one they do not, one of which .NET's own (Unicode's; its . stops at \n alone) reads otherwise.
    [TestCase(@"^\d+$", "0123456789", "\u0661\u0662\u0663")]
    [TestCase(@"^\D$", "\u0661", "7")]
    [TestCase(@"^\w+$", "az_AZ09", "caf\u00E9")]
    [TestCase(@"^\W$", "\u00E9", "_")]
    [TestCase(@"^\s$", "\uFEFF", "\u0085")]
    [TestCase(@"^\s+$", " \t\v\f\r\n\u00A0\u2003\u2028\u3000\uFEFF", "\t\u0085")]
    [TestCase(@"^\S$", "\u0085", "\uFEFF")]
    [TestCase(@"^[\d]+$", "42", "\u0664\u0662")]
    [TestCase(@"^[\w-]+$", "a-b_c", "a-\u00E9")]
    [TestCase(@"^[^\d]$", "\u0661", "1")]
    [TestCase(@"^[\s]$", "\uFEFF", "\u0085")]
    [TestCase(@"^[\d-x]+$", "1-x", "\u0661")]
    [TestCase(@"^[\D]$", "\u0661", "1")]
    [TestCase(@"^[\W_]$", "\u00E9", "a")]
    [TestCase(@"^[\d\W]$", "\u00E9", "a")]
    [TestCase(@"^[^\D]$", "1", "\u0661")]
    [TestCase(@"^[^\Wa]$", "b", "\u00E9")]
    [TestCase(@"^[^\S]$", "\uFEFF", "\u0085")]
    [TestCase(@"^[\S\d]$", "\u0085", "\uFEFF")]
    [TestCase(@"^[\D^]+$", "^\u0661", "^5")]
    [TestCase(@"^[\]\D]+$", "]\u0661", "]5")]
    [TestCase(@"^[^^\D]$", "5", "\u0665")]
    [TestCase(@"^\\d\d$", @"\d5", "\\d\u0665")] // an escaped backslash, then ECMA-262's \d
    [TestCase(@"^.$", "\u00E9", "\r")]
    [TestCase(@"^.$", "x", "\u2028")]
    [TestCase(@"^.$", "x", "\u2029")]
    [TestCase(@"^[.].$", ".x", ".\r")] // a dot in a class is the character
    public void AShorthandOrDot_IsEcmaScripts(string pattern, string matches, string doesNot)
    {
        var regex = PublishedPatterns.Strict(pattern);

        Assert.That(regex.IsMatch(matches), Is.True, $"'{matches}'");
        Assert.That(regex.IsMatch(doesNot), Is.False, $"'{doesNot}'");
    }

    [TestCase(@"^\bcat\b$", "word boundary")]
    [TestCase(@"^a\B", "word boundary")]
    [TestCase(@"(?i)^k$", "inline option i")]
    [TestCase(@"^(?ns:.)$", "inline option s")]
    [TestCase(@"^[a-\d]$", "ends a range")]
    [TestCase(@"^[a-z-[\W]]$", "class subtraction")]
    [TestCase(@"^[\W-[a]]$", "class subtraction")]
    [TestCase(@"^[^\D\S]$", "two negated shorthands")]
    [TestCase(@"^\d[a", "does not close")]
    // Syntax of .NET's alone: ECMA-262 reads each otherwise (\A the letter A without the u flag) or refuses it (with the u flag, or at all).
    [TestCase(@"\Aa$", @"has \A")]
    [TestCase(@"^a\z", @"has \z")]
    [TestCase(@"^a\Z", @"has \Z")]
    [TestCase(@"\Ga", @"has \G")]
    [TestCase(@"^\e$", @"has \e")]
    [TestCase(@"^[\a]$", @"has \a")]
    [TestCase(@"^\p{L}+$", @"has \p")]
    [TestCase(@"^[\P{Lu}_]$", @"has \P")]
    [TestCase(@"^[a-z-[aeiou]]$", "class subtraction")]
    [TestCase(@"^[]a]$", "']' first in a class")]
    [TestCase(@"^[^]a]$", "']' first in a class")]
    [TestCase(@"(?x)^a b$", "inline options (?x)")]
    [TestCase(@"^(?n:(a))$", "inline options (?n:")]
    [TestCase(@"^(?-i:a)$", "inline options (?-i:")]
    [TestCase(@"^(?'word'a)$", "(?'name'...)")]
    [TestCase(@"^(?<1>a)$", "by a number")]
    [TestCase(@"^(?#a comment)a$", "comment")]
    public void AConstructWithoutAnExactEcmaScriptReading_IsRefused_NamingIt(string pattern, string why)
    {
        var error = Assert.Throws<ArgumentException>(() => PublishedPatterns.Strict(pattern));

        Assert.That(error!.Message, Does.Contain($"'{pattern}'").And.Contain(why));
    }

    [TestCase(@"^(?<year>[0-9]{4})-(?:0[1-9]|1[0-2])$", "2026-12", "2026-13")]
    [TestCase(@"^[\b\t]\(\?#$", "\b(?#", "a(?#")] // a backspace and a tab in a class, an escaped group's opening
    [TestCase(@"^\\p[\\p]$", @"\pp", "pp")] // an escaped backslash, then a p
    public void ItsEcmaScriptNeighbours_StillPass(string pattern, string matches, string doesNot)
    {
        var regex = PublishedPatterns.Strict(pattern);

        Assert.That(regex.IsMatch(matches), Is.True, $"'{matches}'");
        Assert.That(regex.IsMatch(doesNot), Is.False, $"'{doesNot}'");
    }

    [TestCase(@"^(a)\1$")]
    [TestCase(@"^(?=a)a$")]
    [TestCase(@"^(?>a+)$")]
    [TestCase(@"^(?(a)a|b)$")]
    public void APatternThatNeedsBacktracking_IsRefused_NamingIt(string pattern)
    {
        var error = Assert.Throws<ArgumentException>(() => PublishedPatterns.Strict(pattern));

        Assert.That(error!.Message, Does.Contain($"'{pattern}'").And.Contain("without backtracking"));
    }

    [TestCase(@"(?m)^a$")]
    [TestCase(@"^(?im:a)$")]
    public void AnInlineMultilineOption_IsRefused(string pattern)
    {
        var error = Assert.Throws<ArgumentException>(() => PublishedPatterns.Strict(pattern));

        Assert.That(error!.Message, Does.Contain($"'{pattern}'").And.Contain("end of a line"));
    }
}
