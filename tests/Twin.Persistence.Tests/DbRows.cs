using System.Data.Common;
using System.Globalization;

namespace Twin.Persistence.Tests;

/// <summary>What a person with a SQL prompt sees: the first column of a query's rows, as text.</summary>
public static class DbRows
{
    /// <summary>Akka.Persistence.Sql's default journal columns (CSV tags; writer_uuid kept), by name.</summary>
    public static readonly string[] PluginJournalColumns =
        ["created", "deleted", "identifier", "manifest", "message", "ordering", "persistence_id", "sequence_number", "tags", "writer_uuid"];

    /// <summary>Every table of a journal with one run: the plugin's two and Twin's four, by name.</summary>
    public static readonly string[] JournalTables = ["checkpoints", "journal", "manifests", "runs", "snapshot", "twin_meta"];

    public static string[] FirstColumn(DbConnection c, string sql)
    {
        using DbCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using DbDataReader r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(Convert.ToString(r.GetValue(0), CultureInfo.InvariantCulture)!);
        return [.. list];
    }
}
