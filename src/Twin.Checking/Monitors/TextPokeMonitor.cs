using Twin.Actors.Persistence;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Text;

namespace Twin.Checking.Monitors;

/// <summary>
/// x86 text_poke_bp, kernel-model §7.2. T1: a CPU running a patched site sees the old
/// instruction, INT3 (and the handler emulates the new one), or the new one, never old and new
/// bytes mixed; no INT3 at a site goes unclaimed. T2: each sync step ends only after every CPU
/// serialized its core after the write before it. T3: the handler reads the entries of a live
/// batch only, the one it found, and the batch retires only when no handler holds a ref on it
/// (B16, B17). T4: one batch at a time (text_mutex). T-LIVE: a batch finishes (the static-calls
/// deadlock of seed 004, B22).
/// </summary>
public sealed class TextPokeMonitor(MachineFacts facts) : Monitor
{
    private readonly long[] _serializedAt = new long[Limits.MaxCpus];
    private readonly int[] _refBatch = new int[Limits.MaxCpus];
    private readonly int[] _version = new int[32];
    private readonly int[] _target = new int[32];
    private int _batch;
    private int _batchCpu = -1;
    private int _batchSites;
    private long _beganNs;
    private long _lastWrite;
    private TextPokePhase _lastWritePhase;
    private bool _stuckReported;
    private CpuMask _spinning;

    public override string Property => "T1";

    public override string Guarantee =>
        "text_poke_bp: \"a CPU fetching at a patched address sees exactly one of {old insn, INT3 (+ emulation of the new insn), new insn}\"; " +
        "each sync completes only after every online CPU ran sync_core() after the preceding write; the INT3 handler reads " +
        "text_poke_array only with refs > 0 and P4 waits for all refs to drain; one batch at a time; a patch completes";

    public override void OnEvent<TEvent>(in EventMeta meta, in TEvent evt)
    {
        if (_batch != 0 && !_stuckReported && facts.TextPokeLivenessNs > 0 && meta.TimestampNs - _beganNs > facts.TextPokeLivenessNs) Stuck(in meta);
        if (Is(in evt, out CoreSerialized cs)) _serializedAt[cs.Cpu] = meta.EventIndex;
        // A deferred sync counts for T2: the CPU runs it before any kernel text (I1, I2 check that).
        else if (Is(in evt, out CtWork w) && w.Step == CtWorkStep.Set) _serializedAt[w.Cpu] = meta.EventIndex;
        else if (Is(in evt, out TextPokeStepped st)) Stepped(in meta, st);
        else if (Is(in evt, out TextFetched tf)) Fetched(in meta, tf);
        else if (Is(in evt, out Int3Handled ih)) Handled(in meta, ih);
    }

    private void Stepped(in EventMeta meta, TextPokeStepped st)
    {
        switch (st.Phase)
        {
            case TextPokePhase.Began:
                if (_batch != 0)
                {
                    Report(in meta, st.Cpu, 0, $"CPU {st.Cpu} begins text_poke batch {st.Batch} while CPU {_batchCpu}'s batch {_batch} is in progress: two writers of kernel text (text_mutex)", property: "T4");
                }
                _batch = st.Batch;
                _batchCpu = st.Cpu;
                _batchSites = st.Sites;
                _beganNs = meta.TimestampNs;
                _stuckReported = false;
                for (int s = 0; s < _version.Length; s++) _target[s] = (st.Sites & (1 << s)) != 0 ? _version[s] + 1 : _version[s];
                break;
            case var phase when phase.WritesText():
                _lastWrite = meta.EventIndex;
                _lastWritePhase = st.Phase;
                if (st.Phase == TextPokePhase.FirstWritten) Array.Copy(_target, _version, _version.Length);
                break;
            case TextPokePhase.Synced1 or TextPokePhase.Synced2 or TextPokePhase.Synced3:
                Synced(in meta, st);
                break;
            case TextPokePhase.Ended:
                for (int c = 0; c < View.Cpus; c++)
                {
                    if (_refBatch[c] != st.Batch) continue;
                    Report(in meta, c, 0, $"text_poke batch {st.Batch} retires its entries while CPU {c}'s INT3 handler still holds a ref on them", property: "T3");
                }
                _batch = 0;
                _batchCpu = -1;
                _spinning = CpuMask.Empty;
                break;
        }
    }

    private void Synced(in EventMeta meta, TextPokeStepped st)
    {
        for (int c = 0; c < View.Cpus; c++)
        {
            if (_serializedAt[c] > _lastWrite || View.Offline[c]) continue;
            Report(in meta, c, 0,
                $"text_poke batch {st.Batch}'s sync after {Name(_lastWritePhase)} completes on CPU {st.Cpu}, but CPU {c} has not serialized its core since that write",
                property: "T2");
        }
    }

    private void Fetched(in EventMeta meta, TextFetched tf)
    {
        if (tf.Byte0 == TextState.Int3 || tf.Byte0 == tf.Tail) return;
        Report(in meta, tf.Cpu, 0,
            $"CPU {tf.Cpu} executes site {tf.Site} ({tf.Context}) with the first byte of version {tf.Byte0} and the rest of version {tf.Tail}: a torn instruction",
            task: View.Curr[tf.Cpu]);
    }

    private void Handled(in EventMeta meta, Int3Handled ih)
    {
        switch (ih.Step)
        {
            case Int3Step.RefTaken:
                _refBatch[ih.Cpu] = ih.Batch;
                break;
            case Int3Step.RefPut:
                _refBatch[ih.Cpu] = 0;
                break;
            case Int3Step.ArrayRead:
                ArrayRead(in meta, ih);
                break;
            case Int3Step.Emulated when ih.Value != _target[ih.Site] || _batch == 0:
                Report(in meta, ih.Cpu, 0, $"CPU {ih.Cpu}'s INT3 handler emulates version {ih.Value} at site {ih.Site}, not the new instruction (version {_target[ih.Site]})");
                break;
            case Int3Step.NotOurs when ih.Value == 1:
                Report(in meta, ih.Cpu, 0, $"CPU {ih.Cpu} trapped on text_poke's INT3 at site {ih.Site}, and no handler claims it: die()");
                break;
            case Int3Step.Spinning:
                _spinning = _spinning.With(ih.Cpu);
                break;
            case Int3Step.SpinEnded:
                _spinning = _spinning.Without(ih.Cpu);
                break;
        }
    }

    private void ArrayRead(in EventMeta meta, Int3Handled ih)
    {
        string site = ih.Site < 0 ? "a kprobe's INT3" : $"the INT3 at site {ih.Site}";
        string? wrong = ih.Value == 0 ? $"text_poke_array is NULL (batch {ih.Batch} was found, then retired)"
            : ih.Value != ih.Batch ? $"the entries are batch {ih.Value}'s, but the descriptor it found was batch {ih.Batch}'s (its memory was reused)"
            : ih.Value != _batch ? $"batch {ih.Value} has already retired"
            : null;
        if (wrong is null) return;
        Report(in meta, ih.Cpu, 0, $"CPU {ih.Cpu}'s INT3 handler, for {site}, reads text_poke entries: {wrong}", property: "T3");
    }

    private void Stuck(in EventMeta meta)
    {
        _stuckReported = true;
        string spinners = _spinning.IsEmpty ? "" : $"; INT3 handlers waiting for it on CPUs {_spinning.ToCpuList(", ")}";
        Report(in meta, _batchCpu, 0,
            $"text_poke batch {_batch}, begun on CPU {_batchCpu} at {_beganNs} ns, has not finished after {(meta.TimestampNs - _beganNs) / 1000} µs (textPoke.livenessNs = {facts.TextPokeLivenessNs / 1000} µs){spinners}",
            windowStart: 0, property: "T-LIVE");
    }

    private static string Name(TextPokePhase p) => p switch
    {
        TextPokePhase.Int3Written => "P1 (INT3)",
        TextPokePhase.TailWritten => "P2 (the tail bytes)",
        _ => "P3 (the new first byte)",
    };
}
