using Twin.Actors;
using Twin.Kernel;
using Twin.Kernel.Cpu;
using Twin.Kernel.Events;

namespace Twin.Kernel.Tests;

/// <summary>Each Apply asserts the kernel's conditions; an impossible event is refused where it is applied.</summary>
public sealed class CpuStateTests
{
    private static CpuState Booted()
    {
        var s = new CpuState(0);
        s.Apply(new CpuBooted(0));
        return s;
    }

    /// <summary>A CPU that switched to mm 3 through the switching window, at tlb_gen <paramref name="gen"/>.</summary>
    private static CpuState Loaded(int mm = 3, long gen = 1)
    {
        CpuState s = Booted();
        s.Apply(new MmSwitchBegan(0, mm, gen));
        s.Apply(new MmSwitched(0, 0, mm, Cr3Written: true, WasLazy: false, gen));
        return s;
    }

    [Fact]
    public void entering_lazy_mode_with_init_mm_loaded_does_not_set_is_lazy()
    {
        CpuState s = Booted();
        s.Apply(new LazyTlbEntered(0, KernelIds.InitMm));
        Assert.False(s.IsLazy);
    }

    [Fact]
    public void a_kthread_must_borrow_the_active_mm_it_found()
    {
        CpuState s = Loaded();
        var e = Assert.Throws<InvariantViolationException>(() => s.Apply(new LazyTlbEntered(0, 4)));
        Assert.Contains("borrows", e.Message);
        s.Apply(new LazyTlbEntered(0, 3));
        Assert.True(s.IsLazy);
        Assert.Equal(3, s.ActiveMm);
    }

    [Fact]
    public void another_mm_is_loaded_only_through_the_switching_window_and_with_a_CR3_write()
    {
        CpuState s = Booted();
        Assert.Throws<InvariantViolationException>(() => s.Apply(new MmSwitched(0, 0, 3, Cr3Written: true, WasLazy: false, 1)));
        s.Apply(new MmSwitchBegan(0, 3, 1));
        Assert.True(s.Switching);
        Assert.Throws<InvariantViolationException>(() => s.Apply(new MmSwitched(0, 0, 3, Cr3Written: false, WasLazy: false, 1)));
        s.Apply(new MmSwitched(0, 0, 3, Cr3Written: true, WasLazy: false, 1));
        Assert.False(s.Switching);
        Assert.Equal((3, 1L), (s.LoadedMm, s.LocalTlbGen));
    }

    [Fact]
    public void unlazy_without_a_CR3_write_needs_a_current_tlb_gen()
    {
        CpuState s = Loaded(gen: 4);
        s.Apply(new LazyTlbEntered(0, 3));
        Assert.Throws<InvariantViolationException>(() => s.Apply(new MmSwitched(0, 3, 3, Cr3Written: false, WasLazy: true, 6)));
        s.Apply(new MmSwitched(0, 3, 3, Cr3Written: true, WasLazy: true, 6));
        Assert.Equal(6, s.LocalTlbGen);
        Assert.False(s.IsLazy);
    }

    [Fact]
    public void leave_mm_loads_init_mm_but_keeps_the_kthreads_active_mm()
    {
        CpuState s = Loaded();
        s.Apply(new LazyTlbEntered(0, 3));
        s.Apply(new MmSwitchBegan(0, KernelIds.InitMm, 0));
        s.Apply(new MmSwitched(0, 3, KernelIds.InitMm, Cr3Written: true, WasLazy: true, 0));
        Assert.Equal((KernelIds.InitMm, 3), (s.LoadedMm, s.ActiveMm));
    }

    [Fact]
    public void a_flush_only_moves_local_tlb_gen_forward_on_the_loaded_mm()
    {
        CpuState s = Loaded(gen: 2);
        Assert.Throws<InvariantViolationException>(() => s.Apply(new TlbFlushed(0, 4, 3, Full: true)));
        s.Apply(new TlbFlushed(0, 3, 3, Full: false));
        Assert.Throws<InvariantViolationException>(() => s.Apply(new TlbFlushed(0, 3, 3, Full: false)));
    }

    [Fact]
    public void user_mode_is_entered_from_the_kernel_on_loaded_non_lazy_page_tables()
    {
        CpuState s = Loaded();
        s.Apply(new ReturnedToUser(0, 1, ReturnPath.Sysret));
        Assert.True(s.InUser);
        Assert.Throws<InvariantViolationException>(() => s.Apply(new ReturnedToUser(0, 1, ReturnPath.Sysret)));
        s.Apply(new KernelEntered(0, 1, EntryReason.Syscall));
        s.Apply(new LazyTlbEntered(0, 3));
        var e = Assert.Throws<InvariantViolationException>(() => s.Apply(new ReturnedToUser(0, 1, ReturnPath.Iret)));
        Assert.Contains("non-lazy", e.Message);
    }
}
