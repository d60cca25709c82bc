namespace Twin.Actors.Dispatch;

/// <summary>A typed handler registered with Receive&lt;T&gt;, invoked without boxing the message.</summary>
internal abstract class Handler
{
    public abstract void Invoke(ref Envelope envelope);
}

internal sealed class Handler<T>(Action<T> action) : Handler where T : notnull
{
    public readonly Action<T> Action = action;

    public override void Invoke(ref Envelope envelope) => Action(envelope.Read<T>());
}

/// <summary>Handlers of one actor, indexed by message type id.</summary>
internal sealed class HandlerTable
{
    private Handler?[] _byType = new Handler?[16];

    public void Add<T>(Action<T> action) where T : notnull
    {
        int id = MessageType<T>.Id;
        if (id >= _byType.Length) Array.Resize(ref _byType, Math.Max(id + 1, _byType.Length * 2));
        if (_byType[id] is not null) throw new InvalidOperationException($"a handler for {typeof(T).Name} is already registered");
        _byType[id] = new Handler<T>(action);
    }

    public Handler? Find(int typeId) => typeId < _byType.Length ? _byType[typeId] : null;

    public Handler<T>? Find<T>() where T : notnull => Find(MessageType<T>.Id) as Handler<T>;
}
