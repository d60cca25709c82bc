using System.Data.Common;

namespace Twin.Persistence;

/// <summary>Reads <c>runs</c> rows the same way on every SQL backend.</summary>
internal static class RunRows
{
    public const string Select = "SELECT run_no, run_id, seed, config, code_version, status, writer_uuid, started_unix_ms, finished_unix_ms, summary FROM runs";

    /// <param name="uri">The journal, for the message about a row no build of Twin writes.</param>
    public static IReadOnlyList<RunInfo> ReadAll(DbCommand cmd, string uri)
    {
        using DbDataReader r = cmd.ExecuteReader();
        var list = new List<RunInfo>();
        while (r.Read())
        {
            long runNo = Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
            string statusText = r.GetString(5);
            if (!RunStatusText.TryParse(statusText, out RunStatus status))
            {
                throw new JournalCorruptException($"{uri}: runs row {runNo} has unknown status '{statusText}'");
            }
            list.Add(new RunInfo(
                (int)runNo, r.GetString(1), unchecked((ulong)r.GetInt64(2)), r.GetString(3), r.GetString(4),
                status, r.GetString(6), r.GetInt64(7), r.IsDBNull(8) ? null : r.GetInt64(8), r.IsDBNull(9) ? null : r.GetString(9)));
        }
        return list;
    }
}
