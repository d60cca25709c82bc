using System.Data.Common;
using System.Globalization;

namespace Twin.Persistence;

/// <summary>The <c>twin_meta</c> table that makes a database a Twin journal, the same on every SQL backend.</summary>
internal static class JournalMeta
{
    public const string Format = "twin-journal";

    /// <summary>Reads <c>twin_meta</c> through <paramref name="selectKeyValue"/> and refuses another format or version.</summary>
    /// <param name="subject">How messages name the journal: <c>'runs/twin.db'</c>, a postgres: URI.</param>
    /// <exception cref="JournalFormatException">not a Twin journal, or one of another format version.</exception>
    public static void Check(DbCommand selectKeyValue, int version, string subject)
    {
        string? format = null, stored = null;
        using (DbDataReader r = selectKeyValue.ExecuteReader())
        {
            while (r.Read())
            {
                if (r.GetString(0) == "format") format = r.GetString(1);
                if (r.GetString(0) == "version") stored = r.GetString(1);
            }
        }
        if (format != Format)
        {
            throw new JournalFormatException($"{subject} is not a Twin journal: twin_meta says format '{format ?? "(none)"}'");
        }
        if (stored != version.ToString(CultureInfo.InvariantCulture))
        {
            throw new JournalFormatException($"{subject} is a Twin journal of format version {stored}; this build reads version {version}");
        }
    }
}
