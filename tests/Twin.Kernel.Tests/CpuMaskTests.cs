namespace Twin.Kernel.Tests;

/// <summary>cpumask_t as a value: lists as the kernel's cpulist options print them, and trimmed to a smaller machine.</summary>
public sealed class CpuMaskTests
{
    [Fact]
    public void a_mask_lists_its_cpus_ascending_across_words()
    {
        CpuMask m = CpuMask.Empty.With(200).With(3).With(2).With(64);
        Assert.Equal("2,3,64,200", m.ToCpuList());
        Assert.Equal("2, 3, 64, 200", m.ToCpuList(", "));
        Assert.Equal("{2,3,64,200}", m.ToString());
        Assert.Equal("", CpuMask.Empty.ToCpuList());
    }

    [Fact]
    public void below_drops_the_cpus_a_smaller_machine_does_not_have()
    {
        CpuMask m = CpuMask.Empty.With(1).With(3).With(130);
        Assert.Equal("1", m.Below(3).ToCpuList());
        Assert.Equal("1,3", m.Below(4).ToCpuList());
        Assert.Equal(m, m.Below(Limits.MaxCpus));
        Assert.True(m.Below(0).IsEmpty);
    }
}
