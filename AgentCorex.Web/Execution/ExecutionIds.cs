using System.Security.Cryptography;

namespace AgentCorex.Web.Execution;

public static class ExecutionIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    private const int Length = 12;

    /// <summary>The largest multiple of the alphabet's size a byte can hold: bytes from it up are skipped, so every character is equally likely.</summary>
    private const int Unbiased = 256 / 36 * 36;

    // Random bytes are drawn from the system's generator a buffer at a time: one call per request cost more
    // than the rest of making the id.
    [ThreadStatic]
    private static byte[]? random;

    [ThreadStatic]
    private static int used;

    /// <summary>12 random lowercase letters and digits after a prefix, as in <c>job_abc123def456</c>.</summary>
    public static string New(string prefix = "exec_") =>
        string.Create(prefix.Length + Length, prefix, static (chars, prefix) =>
        {
            prefix.CopyTo(chars);
            for (var i = prefix.Length; i < chars.Length; i++)
            {
                int next;
                while ((next = NextByte()) >= Unbiased)
                {
                }
                chars[i] = Alphabet[next % Alphabet.Length];
            }
        });

    private static byte NextByte()
    {
        var bytes = random;
        if (bytes is null || used == bytes.Length)
        {
            bytes = random ??= new byte[256];
            RandomNumberGenerator.Fill(bytes);
            used = 0;
        }
        return bytes[used++];
    }
}
