using Twin.Persistence.Memory;

namespace Twin.Persistence.Tests;

public sealed class MemoryJournalTests : JournalContract
{
    protected override IJournal CreateJournal() => new MemoryJournal();

    protected override bool OutlivesProcess => false;
}
