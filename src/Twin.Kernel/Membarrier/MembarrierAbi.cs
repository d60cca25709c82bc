namespace Twin.Kernel.Membarrier;

/// <summary>include/uapi/linux/membarrier.h (kernel-model §3.1).</summary>
public static class MembarrierCmd
{
    public const int Query = 0;
    public const int Global = 1;
    public const int GlobalExpedited = 2;
    public const int RegisterGlobalExpedited = 4;
    public const int PrivateExpedited = 8;
    public const int RegisterPrivateExpedited = 16;
    public const int PrivateExpeditedSyncCore = 32;
    public const int RegisterPrivateExpeditedSyncCore = 64;
    public const int PrivateExpeditedRseq = 128;
    public const int RegisterPrivateExpeditedRseq = 256;
    public const int GetRegistrations = 512;

    /// <summary>MEMBARRIER_CMD_FLAG_CPU: target one CPU (RSEQ only).</summary>
    public const int FlagCpu = 1;

    /// <summary>Every command this kernel supports: the QUERY answer without nohz_full (0x3FF).</summary>
    public const int AllSupported = Global | GlobalExpedited | RegisterGlobalExpedited | PrivateExpedited | RegisterPrivateExpedited
        | PrivateExpeditedSyncCore | RegisterPrivateExpeditedSyncCore | PrivateExpeditedRseq | RegisterPrivateExpeditedRseq | GetRegistrations;

    private static readonly (string Name, int Value)[] s_names =
    [
        ("QUERY", Query), ("GLOBAL", Global), ("SHARED", Global), ("GLOBAL_EXPEDITED", GlobalExpedited),
        ("REGISTER_GLOBAL_EXPEDITED", RegisterGlobalExpedited), ("PRIVATE_EXPEDITED", PrivateExpedited),
        ("REGISTER_PRIVATE_EXPEDITED", RegisterPrivateExpedited), ("PRIVATE_EXPEDITED_SYNC_CORE", PrivateExpeditedSyncCore),
        ("REGISTER_PRIVATE_EXPEDITED_SYNC_CORE", RegisterPrivateExpeditedSyncCore), ("PRIVATE_EXPEDITED_RSEQ", PrivateExpeditedRseq),
        ("REGISTER_PRIVATE_EXPEDITED_RSEQ", RegisterPrivateExpeditedRseq), ("GET_REGISTRATIONS", GetRegistrations),
    ];

    /// <summary>Parses "PRIVATE_EXPEDITED", "MEMBARRIER_CMD_PRIVATE_EXPEDITED" or a number.</summary>
    public static bool TryParse(string text, out int cmd)
    {
        string t = text.Trim();
        if (t.StartsWith("MEMBARRIER_CMD_", StringComparison.Ordinal)) t = t["MEMBARRIER_CMD_".Length..];
        foreach ((string name, int value) in s_names)
        {
            if (string.Equals(name, t, StringComparison.OrdinalIgnoreCase))
            {
                cmd = value;
                return true;
            }
        }
        return int.TryParse(t, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out cmd);
    }

    public static string Name(int cmd)
    {
        foreach ((string name, int value) in s_names)
        {
            if (value == cmd && name != "SHARED") return name;
        }
        return cmd.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary><c>mm->membarrier_state</c> bits (include/linux/sched/mm.h).</summary>
public static class MembarrierState
{
    public const int PrivateExpeditedReady = 1 << 0;
    public const int PrivateExpedited = 1 << 1;
    public const int GlobalExpeditedReady = 1 << 2;
    public const int GlobalExpedited = 1 << 3;
    public const int SyncCoreReady = 1 << 4;
    public const int SyncCore = 1 << 5;
    public const int RseqReady = 1 << 6;
    public const int Rseq = 1 << 7;
}

/// <summary>The errno values membarrier returns (negated in MembarrierExited.Ret).</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOMEM = 12;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOSYS = 38;

    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOMEM => "ENOMEM",
        EBUSY => "EBUSY",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ENOSYS => "ENOSYS",
        _ => errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static bool TryParse(string text, out int errno)
    {
        errno = text.Trim().ToUpperInvariant() switch
        {
            "EPERM" => EPERM,
            "ENOMEM" => ENOMEM,
            "EBUSY" => EBUSY,
            "ENODEV" => ENODEV,
            "EINVAL" => EINVAL,
            "ENOSYS" => ENOSYS,
            _ => 0,
        };
        return errno != 0;
    }
}
