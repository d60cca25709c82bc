namespace Twin.Persistence.Sql;

/// <summary>
/// The plugin of one opened journal, started at most once. A journal opened to be written starts
/// it in the background (<see cref="Begin"/>), so the ActorSystem and the plugin come up while the
/// simulation boots (about a quarter of a second of a short command); whoever needs it first waits
/// in <see cref="Get"/>, the writer's committing thread included, never the simulation's.
/// </summary>
internal sealed class SqlPluginStarter(SqlBackend backend) : IDisposable
{
    private readonly object _gate = new();
    private Task<SqlPluginStorage>? _start;

    /// <summary>Starts the plugin without waiting (a no-op once started).</summary>
    public void Begin()
    {
        lock (_gate) _start ??= Task.Run(() => SqlPluginStorage.Start(backend, createTables: false));
    }

    /// <summary>Starts the plugin now, having it create its tables; for a journal that has none yet.</summary>
    public void StartCreatingTables()
    {
        lock (_gate) _start ??= Task.FromResult(SqlPluginStorage.Start(backend, createTables: true));
    }

    /// <exception cref="JournalException">the plugin could not start.</exception>
    public SqlPluginStorage Get()
    {
        Begin();
        try
        {
            return _start!.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not JournalException)
        {
            throw SqlErrors.Translate(e, backend.Uri, "starting Akka.Persistence.Sql");
        }
    }

    public void Dispose()
    {
        Task<SqlPluginStorage>? start;
        lock (_gate) start = _start;
        if (start is null) return;
        try
        {
            start.GetAwaiter().GetResult().Dispose();
        }
        catch (Exception)
        {
            // It never started: nothing to stop; the failure was (or would have been) reported by Get.
        }
    }
}
