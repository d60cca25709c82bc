namespace Twin.Actors;

/// <summary>Keyed timers on virtual time (Akka's ITimerScheduler). Restarting a key replaces the old timer.</summary>
public interface ITimerScheduler
{
    void StartSingleTimer<T>(object key, T message, long delayNs) where T : notnull;

    void StartPeriodicTimer<T>(object key, T message, long initialDelayNs, long intervalNs) where T : notnull;

    bool IsTimerActive(object key);

    void Cancel(object key);

    void CancelAll();
}
