namespace Twin.Kernel.Tests;

public static class Subsequence
{
    /// <summary>Asserts that <paramref name="expected"/> appears in <paramref name="actual"/> in order (not necessarily adjacent).</summary>
    public static void AssertIn(IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        int i = 0;
        foreach (string line in actual)
        {
            if (i < expected.Count && line == expected[i]) i++;
        }
        Assert.True(i == expected.Count,
            $"missing, in order, from the journal: {expected[Math.Min(i, expected.Count - 1)]}\njournal:\n  {string.Join("\n  ", actual)}");
    }
}
