namespace Twin.Checking;

/// <summary>
/// A monitor that can also say what it could not decide (on a real trace, where events are lost
/// and some moments are not traced): per property, cases checked, violated and undecidable with
/// why. Its violations are reported through <see cref="Monitor"/> as well.
/// </summary>
public interface ITallied
{
    IReadOnlyDictionary<string, PropertyTally> Tallies { get; }
}
