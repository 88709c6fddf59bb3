using AgentCorex.Tools;

namespace AgentCorex.Tests.Tools;

/// <summary>A published pattern checked as JSON Schema reads it (ECMA-262: <c>$</c> the end of the string), without backtracking.</summary>
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
    [TestCase(@"^[]$]+$", "]$")]
    [TestCase(@"^[^]$]$", "x")]
    [TestCase(@"^[a-z-[$]]$", "b")]
    [TestCase(@"^(?#[ a comment)$", "")]
    public void ADollarInAClassOrEscaped_IsTheCharacter(string pattern, string matches)
    {
        var regex = PublishedPatterns.Strict(pattern);

        Assert.That(regex.IsMatch(matches), Is.True);
        Assert.That(regex.IsMatch(matches + "\n"), Is.False);
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
