namespace Twin.Checking;

/// <summary>
/// How one property fared where not every case can be decided (a real trace): how many cases were
/// checked, how many of those violated it, how many the evidence cannot decide and why.
/// </summary>
public sealed class PropertyTally
{
    /// <summary>Violations kept; later ones are counted, not stored, so memory stays bounded.</summary>
    public const int KeepViolations = 20;

    private readonly List<Violation> _violations = [];
    private readonly SortedDictionary<string, long> _undecidable = new(StringComparer.Ordinal);

    public long Checked { get; private set; }

    public long Violated { get; private set; }

    public long Undecidable { get; private set; }

    /// <summary>The first violations, each naming where it shows.</summary>
    public IReadOnlyList<Violation> Violations => _violations;

    /// <summary>Undecidable cases by reason, e.g. "CPU switched tasks inside the call: the trace does not show when rq->curr was read".</summary>
    public IReadOnlyDictionary<string, long> UndecidableReasons => _undecidable;

    public void Pass() => Checked++;

    public void Fail(Violation v)
    {
        Checked++;
        Violated++;
        if (_violations.Count < KeepViolations) _violations.Add(v);
    }

    public void Unknown(string reason)
    {
        Undecidable++;
        _undecidable[reason] = _undecidable.GetValueOrDefault(reason) + 1;
    }

    /// <summary>A case counted undecidable for <paramref name="reason"/> turned out decidable after all (later evidence).</summary>
    public void Known(string reason)
    {
        Undecidable--;
        if (--_undecidable[reason] == 0) _undecidable.Remove(reason);
    }
}
