using Twin.Checking;
using Twin.Traces.Ftrace;
using Twin.Traces.Replay;

namespace Twin.Traces.Tests;

/// <summary>
/// A damaged copy of a clean recording: lines cut short or garbled at random (a torn write, a bad
/// disk, a copy cut off). Each damaged line is an event lost: an unparsed line, and an undecidable
/// window around it in every property that needs that CPU, never a violation.
/// </summary>
public sealed class DamagedTraceTests
{
    /// <summary>Control characters, line breaks left out (a break would make two lines of one).</summary>
    private const string Control = "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000b\u000c\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f";

    /// <summary>Cuts a line at a random point, or overwrites a random span with random bytes (control characters among them).</summary>
    private static string Damage(string line, Random random)
    {
        if (random.Next(2) == 0) return line[..random.Next(1, line.Length - 1)];
        int at = random.Next(line.Length - 4), length = random.Next(2, Math.Min(12, line.Length - at));
        char[] garbage = [.. Enumerable.Range(0, length).Select(_ => random.Next(4) == 0 ? Control[random.Next(Control.Length)] : (char)random.Next(33, 127))];
        return line[..at] + new string(garbage) + line[(at + length)..];
    }

    /// <summary>
    /// Damages about <paramref name="fraction"/> of the event lines, each so that it no longer parses: a cut
    /// or garbling that still reads as a whole line is a different event (a corrupted value), not a
    /// lost one, and is drawn again (how often that happens is counted: the parser's strictness).
    /// </summary>
    private static (List<string> Lines, int Damaged, int Redrawn) DamagedCopy(string name, double fraction, int seed)
    {
        var random = new Random(seed);
        List<string> lines = [.. File.ReadAllLines(ReplayFiles.Path(name))];
        int damaged = 0, redrawn = 0;
        for (int i = 0; i < lines.Count; i++)
        {
            var record = default(TraceRecord);
            var facts = default(LineFacts);
            if (FtraceLineParser.Parse(lines[i], ref record, ref facts) != LineKind.Event || random.NextDouble() >= fraction) continue;
            for (int attempt = 0; attempt < 50; attempt++)
            {
                string bad = Damage(lines[i], random);
                record = default;
                facts = default;
                bool stillReads = !bad.AsSpan().ContainsAny(Control) && FtraceLineParser.Parse(bad, ref record, ref facts) != LineKind.Unparsed;
                if (stillReads)
                {
                    redrawn++;
                    continue;
                }
                lines[i] = bad;
                damaged++;
                break;
            }
        }
        return (lines, damaged, redrawn);
    }

    /// <summary>Cases undecidable because lines were lost (a LOST marker, an unparsed line, a task change with no sched_switch, a queueing line missing).</summary>
    private static long LostWindows(PropertyTally t) =>
        t.UndecidableReasons.Where(r => r.Key.Contains("lost", StringComparison.Ordinal) || r.Key.Contains("blind", StringComparison.Ordinal)).Sum(r => r.Value);

    [Theory]
    [InlineData("mb-3t-twin.trace", 1)]
    [InlineData("mix-2t-global.trace", 2)]
    public void A_damaged_copy_gives_unparsed_lines_and_undecidable_windows_never_a_violation(string name, int seed)
    {
        SortedDictionary<string, PropertyTally> clean = ReplayFiles.Checked(name);
        (List<string> lines, int damaged, int redrawn) = DamagedCopy(name, 0.03, seed);
        (Dictionary<int, int> tgids, HashSet<int> kthreads) = TraceCheck.TasksOf(ReplayFiles.Path(name));
        var check = new TraceCheck(tgids, kthreads);
        ReadReport report = FtraceReader.Read(new StringReader(string.Join('\n', lines)), name, check);
        check.Finish();
        SortedDictionary<string, PropertyTally> got = check.Properties();

        Assert.True(damaged > 100, $"only {damaged} lines damaged");
        Assert.Equal(damaged, report.Unparsed); // every damaged line left an unparsed line where its event was
        Assert.All(got, p => Assert.True(p.Value.Violated == 0, $"{p.Key}: {p.Value.Violations.FirstOrDefault()?.Message}"));
        // The lost events leave undecidable windows, with the reason, where the clean copy decided.
        long lostClean = clean.Values.Sum(LostWindows), lostGot = got.Values.Sum(LostWindows);
        Assert.True(lostGot > lostClean + (damaged / 10), $"{lostGot} lost windows in the damaged copy, {lostClean} in the clean one");
        // ... and the rest is still decided.
        Assert.True(got.Values.Sum(t => t.Checked) > clean.Values.Sum(t => t.Checked) / 2, "the damage left little decided");
        // Most random damage is caught by the parser itself; a cut inside a line's last number is not.
        Assert.True(redrawn < damaged, $"{redrawn} damaged lines still parsed, {damaged} did not");
    }
}
