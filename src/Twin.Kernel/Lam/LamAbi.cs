using System.Globalization;

namespace Twin.Kernel.Lam;

/// <summary>x86 arch_prctl options for LAM (arch/x86/include/uapi/asm/prctl.h) and its constants.</summary>
public static class ArchPrctlOption
{
    public const int GetUntagMask = 0x4001;
    public const int EnableTaggedAddr = 0x4002;
    public const int GetMaxTagBits = 0x4003;

    /// <summary><c>LAM_U57_BITS</c>: the only mode the kernel enables.</summary>
    public const int LamU57Bits = 6;

    public static string Name(int option) => option switch
    {
        GetUntagMask => "ARCH_GET_UNTAG_MASK",
        EnableTaggedAddr => "ARCH_ENABLE_TAGGED_ADDR",
        GetMaxTagBits => "ARCH_GET_MAX_TAG_BITS",
        _ => "0x" + option.ToString("x", CultureInfo.InvariantCulture),
    };

    /// <summary>A name with or without the ARCH_ prefix, or a number (0x4002 or 16386).</summary>
    public static bool TryParse(string text, out int option)
    {
        string t = text.Trim().ToUpperInvariant();
        if (!t.StartsWith("ARCH_", StringComparison.Ordinal)) t = "ARCH_" + t;
        option = t switch
        {
            "ARCH_GET_UNTAG_MASK" => GetUntagMask,
            "ARCH_ENABLE_TAGGED_ADDR" => EnableTaggedAddr,
            "ARCH_GET_MAX_TAG_BITS" => GetMaxTagBits,
            _ => 0,
        };
        if (option != 0) return true;
        string n = text.Trim();
        return n.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(n.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out option)
            : int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out option);
    }

    /// <summary><c>mm->context.untag_mask</c> for <paramref name="lamBits"/>: -1UL when off, ~GENMASK(62, 57) for LAM_U57.</summary>
    public static long UntagMask(int lamBits) => lamBits == 0 ? -1L : unchecked((long)~(((1UL << 6) - 1) << 57));
}
