namespace Twin.Actors.Dispatch;

/// <summary>One delayed delivery.</summary>
internal struct TimerEntry
{
    public long DueNs;
    /// <summary>Insertion order: entries due at the same time leave the heap in this order.</summary>
    public long Seq;
    public int TargetId;
    /// <summary>-1 for a plain scheduled Tell; otherwise the slot of a keyed actor timer.</summary>
    public int TimerSlot;
    public int TimerGeneration;
    public Envelope Envelope;
}

/// <summary>A binary min-heap on (DueNs, Seq) over a growable array of structs.</summary>
internal sealed class TimerHeap
{
    private TimerEntry[] _items = new TimerEntry[64];
    private int _count;

    public int Count => _count;

    public long PeekDue => _items[0].DueNs;

    public void Push(in TimerEntry entry)
    {
        if (_count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(in entry, in _items[parent])) break;
            _items[i] = _items[parent];
            i = parent;
        }
        _items[i] = entry;
    }

    public TimerEntry Pop()
    {
        TimerEntry top = _items[0];
        TimerEntry last = _items[--_count];
        _items[_count] = default;
        if (_count > 0)
        {
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= _count) break;
                if (child + 1 < _count && Less(in _items[child + 1], in _items[child])) child++;
                if (!Less(in _items[child], in last)) break;
                _items[i] = _items[child];
                i = child;
            }
            _items[i] = last;
        }
        return top;
    }

    private static bool Less(in TimerEntry a, in TimerEntry b) => a.DueNs < b.DueNs || (a.DueNs == b.DueNs && a.Seq < b.Seq);
}
