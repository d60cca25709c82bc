using Akka.Configuration;
using Akka.Persistence.Sql;

namespace Twin.Persistence.Sql;

/// <summary>
/// The HOCON of the storage system: Akka.Persistence.Sql's journal, snapshot store and read
/// journal on one database, Twin's serializer for the rows, and nothing that prints or waits.
/// Keys left out fall back on the plugin's own defaults (<see cref="SqlPersistence.DefaultConfiguration"/>).
/// </summary>
public static class SqlPluginHocon
{
    public const string JournalId = "akka.persistence.journal.twin-sql";
    public const string TableJournalId = "akka.persistence.journal.twin-sql-tables";
    public const string SnapshotId = "akka.persistence.snapshot-store.twin-sql";
    public const string QueryId = "akka.persistence.query.journal.twin-sql";

    /// <summary>
    /// The plugin's indexes of <c>journal</c> by <c>created</c> and by <c>sequence_number</c> alone: no
    /// query of Twin's or of Akka.Persistence.Query's uses either (they go by ordering, by
    /// (persistence_id, sequence_number) or by tag), and together they took 28 of 100 bytes per
    /// event and a fifth of the write time. Dropped once, when the plugin has just created them.
    /// </summary>
    public const string DropUnusedIndexes = "DROP INDEX IF EXISTS journal_created_idx; DROP INDEX IF EXISTS journal_sequence_number_idx";

    /// <summary>Events per WriteMessages the plugin commits in one transaction, and per multi-row INSERT.</summary>
    public const int RoundTripRows = 1000;

    /// <summary>
    /// The HOCON that reads (or writes) a Twin journal with Akka.Persistence.Sql, for an
    /// ActorSystem of one's own: Akka.Persistence.Query's read journal is <see cref="QueryId"/>.
    /// </summary>
    /// <param name="journalUri"><c>sqlite:PATH</c> or <c>postgres:CONNECTION-STRING</c>, as Twin's <c>--journal</c> takes it.</param>
    public static Config ForUri(string journalUri)
    {
        if (journalUri.StartsWith("sqlite:", StringComparison.Ordinal)) return For(SqlBackend.Sqlite(journalUri, journalUri["sqlite:".Length..]));
        if (journalUri.StartsWith("postgres:", StringComparison.Ordinal)) return For(SqlBackend.Postgres(journalUri, journalUri["postgres:".Length..]));
        throw new JournalFormatException($"journal URI '{journalUri}': Akka.Persistence.Sql reads sqlite:PATH or postgres:CONNECTION-STRING");
    }

    internal static Config For(SqlBackend backend)
    {
        string provider = Quote(backend.ProviderName);
        string cs = Quote(backend.ConnectionString);
        // Two journal plugins on one table: "twin-sql-tables" only creates the tables (with the
        // writer_uuid column, so the layout is the plugin's default one); "twin-sql" writes with
        // writer_uuid left NULL, since a run's writer is in Twin's runs table, not on every row.
        string journal(bool tables) => $$"""
            {
              class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
              provider-name = {{provider}}
              connection-string = {{cs}}
              table-mapping = default
              tag-write-mode = Csv
              auto-initialize = {{(tables ? "on" : "off")}}
              default.journal.use-writer-uuid-column = {{(tables ? "on" : "off")}}
              batch-size = {{RoundTripRows}}
              db-round-trip-max-batch-size = {{RoundTripRows}}
              max-row-by-row-size = 4
              parallelism = 1
              buffer-size = 64
            }
            """;
        string hocon = $$"""
            akka {
              loglevel = OFF
              stdout-loglevel = OFF
              loggers = ["Akka.Event.StandardOutLogger, Akka"]
              coordinated-shutdown.run-by-clr-shutdown-hook = off
              actor {
                serializers.twin-stored = "Twin.Persistence.Sql.StoredEventSerializer, Twin.Persistence"
                serialization-bindings {
                  "Twin.Persistence.Sql.StoredEvent, Twin.Persistence" = twin-stored
                }
              }
              persistence {
                journal.plugin = "{{JournalId}}"
                snapshot-store.plugin = "{{SnapshotId}}"
                journal.twin-sql = {{journal(tables: false)}}
                journal.twin-sql-tables = {{journal(tables: true)}}
                snapshot-store.twin-sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  provider-name = {{provider}}
                  connection-string = {{cs}}
                  table-mapping = default
                  auto-initialize = on
                }
                query.journal.twin-sql {
                  class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                  write-plugin = "{{JournalId}}"
                  provider-name = {{provider}}
                  connection-string = {{cs}}
                  table-mapping = default
                  tag-read-mode = Csv
                  default.journal.use-writer-uuid-column = off
                }
              }
            }
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
