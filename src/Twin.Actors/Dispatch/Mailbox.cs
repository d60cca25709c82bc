namespace Twin.Actors.Dispatch;

/// <summary>FIFO ring buffer of envelopes; grows by doubling, never shrinks, so steady state allocates nothing.</summary>
internal sealed class Mailbox
{
    private Envelope[] _items = new Envelope[8];
    private int _head;
    private int _count;

    public int Count => _count;

    public void Enqueue(in Envelope e)
    {
        if (_count == _items.Length) Grow();
        _items[(_head + _count) & (_items.Length - 1)] = e;
        _count++;
    }

    public Envelope Dequeue()
    {
        if (_count == 0) throw new InvalidOperationException("empty mailbox");
        ref Envelope slot = ref _items[_head];
        Envelope e = slot;
        slot = default;
        _head = (_head + 1) & (_items.Length - 1);
        _count--;
        return e;
    }

    public void Clear()
    {
        Array.Clear(_items);
        _head = 0;
        _count = 0;
    }

    private void Grow()
    {
        var bigger = new Envelope[_items.Length * 2];
        for (int i = 0; i < _count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}
