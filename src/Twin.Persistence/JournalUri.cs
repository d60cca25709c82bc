using Twin.Persistence.Memory;
using Twin.Persistence.Postgres;
using Twin.Persistence.Sqlite;

namespace Twin.Persistence;

/// <summary>Opens a journal from its URI: <c>sqlite:PATH</c>, <c>postgres:CONNECTION-STRING</c>, <c>memory:</c>; <c>none:</c> is no journal at all.</summary>
public static class JournalUri
{
    /// <summary>The URI of no journal: a run given it keeps nothing (and skips Akka's journal round trip).</summary>
    public const string None = "none:";

    /// <summary>A journal, or null for <see cref="None"/>.</summary>
    /// <exception cref="JournalException">as <see cref="Open"/>.</exception>
    public static IJournal? OpenOrNone(string uri, bool create) => uri == None ? null : Open(uri, create);

    /// <exception cref="JournalException">the URI is malformed, names an unknown scheme, or the journal cannot be opened.</exception>
    public static IJournal Open(string uri, bool create)
    {
        int colon = uri.IndexOf(':');
        if (colon <= 0) throw new JournalFormatException($"journal URI '{uri}' has no scheme; use sqlite:PATH or memory:");
        string scheme = uri[..colon];
        string rest = uri[(colon + 1)..];
        switch (scheme)
        {
            case "sqlite":
                if (rest.Length == 0) throw new JournalFormatException($"journal URI '{uri}' has no path; use sqlite:PATH");
                return SqliteJournal.Open(rest, create);
            case "memory":
                if (!create) throw new JournalFormatException("a memory: journal lives only inside the process that wrote it; there is nothing to read");
                return new MemoryJournal();
            case "none":
                throw new JournalFormatException("a none: journal keeps nothing; there is nothing to read or write");
            case "postgres":
                if (rest.Length == 0) throw new JournalFormatException($"journal URI '{uri}' has no connection string; use postgres:Host=...;Database=...");
                return PostgresJournal.Open(rest, create);
            default:
                throw new JournalFormatException($"journal URI '{uri}' has unknown scheme '{scheme}'; use sqlite:PATH, postgres:CONNECTION-STRING or memory:");
        }
    }
}
