using System.Security.Cryptography;

namespace AgentCorex.Web.Execution;

public static class ExecutionIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>12 random lowercase letters and digits after a prefix, as in <c>job_abc123def456</c>.</summary>
    public static string New(string prefix = "exec_") => prefix + RandomNumberGenerator.GetString(Alphabet, 12);
}
