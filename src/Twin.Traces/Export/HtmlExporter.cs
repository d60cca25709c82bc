using System.Globalization;
using System.Net;
using System.Text;
using Twin.Checking;
using Twin.Kernel;
using Twin.Kernel.Events;
using Twin.Kernel.Membarrier;

namespace Twin.Traces.Export;

/// <summary>
/// A self-contained HTML page (no scripts, no external resources) with an SVG timeline: one lane per
/// CPU showing the running task, user/kernel/lazy mode, barriers and core-serializing events as
/// marks, IPIs as arrows from sender to handler, membarrier calls and shootdowns as brackets, and
/// each violation with the window of events that proves it; then the violations in words and the
/// events of the window.
/// </summary>
public static class HtmlExporter
{
    private const int Left = 110;
    private const int Width = 1300;
    private const int LaneHeight = 64;
    private const int Top = 50;

    public static void Write(Timeline t, TextWriter output)
    {
        var svg = new StringBuilder();
        int height = Top + t.Cpus * LaneHeight + 40;
        long t0 = t.StartNs, t1 = Math.Max(t.EndNs, t0 + 1);
        double X(long ns) => Left + (double)(ns - t0) / (t1 - t0) * (Width - Left - 20);
        double LaneY(int cpu) => Top + cpu * LaneHeight;

        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.Append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6a1b9a\"/></marker>");
        svg.Append("<pattern id=\"lazy\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"3\" height=\"6\" fill=\"#ef6c00\"/></pattern></defs>");
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{height}\" fill=\"#ffffff\"/>");
        DrawViolationWindows(svg, t, X, LaneY);
        for (int cpu = 0; cpu < t.Cpus; cpu++) DrawLane(svg, t, cpu, X, LaneY(cpu), t1);
        DrawCalls(svg, t, X, LaneY);
        DrawIpis(svg, t, X, LaneY);
        DrawViolations(svg, t, X, height);
        DrawAxis(svg, t0, t1, X, height - 28);
        svg.Append("</svg>");

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(t.Title)).Append("</title><style>");
        html.Append("body{font-family:sans-serif;margin:16px;color:#222}h1{font-size:18px}table{border-collapse:collapse;font-size:12px}");
        html.Append("td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.v{color:#b71c1c;font-weight:bold}.legend span{display:inline-block;margin-right:14px}");
        html.Append(".sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}</style></head><body>");
        html.Append("<h1>").Append(E(t.Title)).Append("</h1>");
        html.Append(CultureInfo.InvariantCulture, $"<p>{t.Events.Count} events, {t.Cpus} CPUs, virtual time {t0 / 1000.0:F3} – {t1 / 1000.0:F3} µs. ");
        html.Append(t.Violations.Count == 0 ? "No violation.</p>" : $"<span class=\"v\">{t.Violations.Count} violation(s).</span></p>");
        html.Append(svg);
        html.Append("<p class=\"legend\"><span><i class=\"sw\" style=\"background:#2e7d32\"></i>user mode</span><span><i class=\"sw\" style=\"background:#90a4ae\"></i>kernel</span>");
        html.Append("<span><i class=\"sw\" style=\"background:#ef6c00\"></i>lazy TLB</span><span><i class=\"sw\" style=\"background:#1565c0\"></i>full barrier</span>");
        html.Append("<span><i class=\"sw\" style=\"background:#ff8f00\"></i>core serializing</span><span><i class=\"sw\" style=\"background:#6a1b9a\"></i>IPI</span>");
        html.Append("<span><i class=\"sw\" style=\"background:#ce93d8\"></i>membarrier call</span><span><i class=\"sw\" style=\"background:#8d6e63\"></i>TLB shootdown</span>");
        if (t.Events.Any(e => e.Event is TextPokeStepped or TextFetched))
        {
            html.Append("<span><i class=\"sw\" style=\"background:#ffe082\"></i>text_poke batch (P0–P4, S1–S3 ticks)</span><span><i class=\"sw\" style=\"background:#5c6bc0\"></i>patched site run</span>");
            html.Append("<span><i class=\"sw\" style=\"background:#ff6f00\"></i>INT3 and its handler (green: emulated; red: torn, NULL, reused or waiting)</span>");
        }
        if (t.Events.Any(e => e.Event is CpuHotplugged)) html.Append("<span><i class=\"sw\" style=\"background:#424242\"></i>CPU offline (hotplug)</span>");
        if (t.Events.Any(e => e.Event is CtWork)) html.Append("<span><i class=\"sw\" style=\"background:#7b1fa2\"></i>CT_WORK_SYNC (hollow: set, deferred; filled: flushed at kernel entry)</span>");
        if (t.Events.Any(e => e.Event is CpuLamLoaded)) html.Append("<span><i class=\"sw\" style=\"background:#00897b\"></i>LAM bits loaded (red: CR3 and untag mask differ)</span>");
        html.Append("<span><i class=\"sw\" style=\"background:#e53935\"></i>violation</span></p>");
        foreach (Violation v in t.Violations)
        {
            html.Append("<h2 class=\"v\">").Append(E(v.Property)).Append("</h2><p>").Append(E(v.Message)).Append("</p>");
            html.Append(CultureInfo.InvariantCulture, $"<p>CPU {v.Cpu}, mm {v.Mm}, task {E(Timeline.TaskName(v.Task))}, events {v.WindowStart}–{v.EventIndex}, at {v.TimeNs / 1000.0:F3} µs.</p>");
            html.Append("<p><i>").Append(E(v.Guarantee)).Append("</i></p>");
        }
        html.Append("<h2>Events</h2><table><tr><th>#</th><th>µs</th><th>stream</th><th>event</th></tr>");
        var marked = new HashSet<long>(t.Violations.Select(v => v.EventIndex));
        foreach (TimelineEvent e in t.Events)
        {
            string cls = marked.Contains(e.Index) ? " class=\"v\"" : "";
            html.Append(CultureInfo.InvariantCulture, $"<tr{cls}><td>{e.Index}</td><td>{e.TimeNs / 1000.0:F3}</td><td>{E(e.Stream)}</td><td>{E(e.Event.ToString()!)}</td></tr>");
        }
        html.Append("</table></body></html>\n");
        output.Write(html.ToString());
    }

    private static void DrawLane(StringBuilder svg, Timeline t, int cpu, Func<long, double> x, double y, long end)
    {
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"8\" y=\"{y + 26:F1}\" font-size=\"13\" font-weight=\"bold\">CPU {cpu}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{y + LaneHeight - 4:F1}\" x2=\"{Width - 20}\" y2=\"{y + LaneHeight - 4:F1}\" stroke=\"#eeeeee\"/>");
        CpuStart start = cpu < t.Start.Count ? t.Start[cpu] : new CpuStart(KernelIds.IdleTask(cpu), false, false);
        int curr = start.Curr;
        bool user = start.User, lazy = start.Lazy;
        long taskFrom = t.StartNs, modeFrom = t.StartNs;
        long? offlineFrom = null;
        foreach (TimelineEvent e in t.Events)
        {
            switch (e.Event)
            {
                case SchedSwitched s when s.Cpu == cpu:
                    Task(svg, x(taskFrom), x(e.TimeNs), y, curr);
                    Mode(svg, x(modeFrom), x(e.TimeNs), y, user, lazy);
                    curr = s.Next;
                    taskFrom = modeFrom = e.TimeNs;
                    user = false;
                    break;
                case ReturnedToUser r when r.Cpu == cpu:
                    Mode(svg, x(modeFrom), x(e.TimeNs), y, user, lazy);
                    user = true;
                    lazy = false;
                    modeFrom = e.TimeNs;
                    break;
                case KernelEntered k when k.Cpu == cpu:
                    Mode(svg, x(modeFrom), x(e.TimeNs), y, user, lazy);
                    user = false;
                    modeFrom = e.TimeNs;
                    break;
                case LazyTlbEntered l when l.Cpu == cpu:
                    Mode(svg, x(modeFrom), x(e.TimeNs), y, user, lazy);
                    lazy = true;
                    modeFrom = e.TimeNs;
                    break;
                case MmSwitched m when m.Cpu == cpu:
                    Mode(svg, x(modeFrom), x(e.TimeNs), y, user, lazy);
                    lazy = false;
                    modeFrom = e.TimeNs;
                    break;
                case FullBarrier b when b.Cpu == cpu:
                    svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x(e.TimeNs):F1}\" y1=\"{y + 44:F1}\" x2=\"{x(e.TimeNs):F1}\" y2=\"{y + 56:F1}\" stroke=\"#1565c0\" stroke-width=\"2\"><title>#{e.Index} full barrier: {b.Reason}</title></line>");
                    break;
                case CoreSerialized c when c.Cpu == cpu:
                    double cx = x(e.TimeNs);
                    svg.Append(CultureInfo.InvariantCulture, $"<path d=\"M{cx:F1},{y + 44:F1} l5,10 l-10,0 z\" fill=\"#ff8f00\"><title>#{e.Index} core serializing: {c.Reason}</title></path>");
                    break;
                case FaultInjected f when f.Cpu == cpu:
                    double fx = x(e.TimeNs);
                    svg.Append(CultureInfo.InvariantCulture, $"<path d=\"M{fx - 5:F1},{y + 2:F1} l10,10 m0,-10 l-10,10\" stroke=\"#d81b60\" stroke-width=\"2.5\"><title>#{e.Index} fault injected: {Timeline.Describe(f)}</title></path>");
                    break;
                case CpuLamLoaded l when l.Cpu == cpu:
                    double lx = x(e.TimeNs);
                    string lamFill = l.Cr3Bits == l.UntagBits ? "#00897b" : "#d50000";
                    svg.Append(CultureInfo.InvariantCulture, $"<path d=\"M{lx:F1},{y + 2:F1} l5,5 l-5,5 l-5,-5 z\" fill=\"{lamFill}\"><title>#{e.Index} LAM loaded ({l.Reason}): CR3 {l.Cr3Bits} bits, untag mask {l.UntagBits} bits, mm {l.Mm}</title></path>");
                    break;
                case ArchPrctlReturned a when a.Cpu == cpu:
                    svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x(e.TimeNs) + 6:F1}\" y=\"{y + 10:F1}\" font-size=\"9\" fill=\"#00695c\">{E(Timeline.Describe(a))}</text>");
                    break;
                case TextFetched f when f.Cpu == cpu:
                    string tf = f.Byte0 == Twin.Kernel.Text.TextState.Int3 ? "#ff6f00" : f.Byte0 != f.Tail ? "#d50000" : "#5c6bc0";
                    svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x(e.TimeNs) - 3:F1}\" y=\"{y + 2:F1}\" width=\"6\" height=\"6\" fill=\"{tf}\"><title>#{e.Index} {E(Timeline.Describe(f))}</title></rect>");
                    break;
                case Int3Handled h when h.Cpu == cpu:
                    bool wrong = h.Step == Int3Step.Spinning || (h.Step == Int3Step.ArrayRead && h.Value != h.Batch) || (h.Step == Int3Step.NotOurs && h.Value == 1);
                    string hf = h.Step == Int3Step.Emulated ? "#2e7d32" : wrong ? "#d50000" : "#ff6f00";
                    svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x(e.TimeNs):F1}\" cy=\"{y + 5:F1}\" r=\"2.5\" fill=\"{hf}\"><title>#{e.Index} {E(Timeline.Describe(h))}</title></circle>");
                    break;
                case CtWork c when c.Cpu == cpu && c.Step != CtWorkStep.Refused:
                    string cf = c.Step == CtWorkStep.Set ? "none" : "#7b1fa2";
                    svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x(e.TimeNs):F1}\" cy=\"{y + 50:F1}\" r=\"4\" fill=\"{cf}\" stroke=\"#7b1fa2\" stroke-width=\"1.5\"><title>#{e.Index} {E(Timeline.Describe(c))}</title></circle>");
                    break;
                case CpuHotplugged h when h.Cpu == cpu:
                    if (!h.Online) offlineFrom = e.TimeNs;
                    else if (offlineFrom is long off)
                    {
                        Offline(svg, x(off), x(e.TimeNs), y);
                        offlineFrom = null;
                    }
                    break;
                case CodeWritten w when w.Cpu == cpu:
                    svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x(e.TimeNs):F1}\" cy=\"{y + 8:F1}\" r=\"4\" fill=\"#c62828\"><title>#{e.Index} code written (mm {w.Mm})</title></circle>");
                    break;
            }
        }
        Task(svg, x(taskFrom), x(end), y, curr);
        Mode(svg, x(modeFrom), x(end), y, user, lazy);
        if (offlineFrom is long stillOff) Offline(svg, x(stillOff), x(end), y);
    }

    /// <summary>A span in which the CPU was out of cpu_online_mask (a hotplug fault).</summary>
    private static void Offline(StringBuilder svg, double from, double to, double y) =>
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{from:F1}\" y=\"{y + 12:F1}\" width=\"{Math.Max(1, to - from):F1}\" height=\"30\" fill=\"#424242\" fill-opacity=\"0.55\"><title>CPU offline</title></rect>");

    private static void Task(StringBuilder svg, double from, double to, double y, int task)
    {
        double w = Math.Max(0.5, to - from);
        string fill = KernelIds.IsIdle(task) ? "#f5f5f5" : $"hsl({task * 47 % 360},55%,72%)";
        string name = Timeline.TaskName(task);
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{from:F1}\" y=\"{y + 12:F1}\" width=\"{w:F1}\" height=\"22\" fill=\"{fill}\" stroke=\"#ffffff\"><title>{E(name)}</title></rect>");
        if (w > 46) svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{from + 3:F1}\" y=\"{y + 27:F1}\">{E(name)}</text>");
    }

    private static void Mode(StringBuilder svg, double from, double to, double y, bool user, bool lazy)
    {
        double w = Math.Max(0, to - from);
        if (w <= 0) return;
        string fill = user ? "#2e7d32" : lazy ? "url(#lazy)" : "#90a4ae";
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{from:F1}\" y=\"{y + 36:F1}\" width=\"{w:F1}\" height=\"6\" fill=\"{fill}\"><title>{(user ? "user" : lazy ? "kernel, lazy TLB" : "kernel")}</title></rect>");
    }

    private static void DrawCalls(StringBuilder svg, Timeline t, Func<long, double> x, Func<int, double> laneY)
    {
        var open = new Dictionary<int, (long TimeNs, MembarrierEntered Call)>();
        var flushes = new Dictionary<int, (long TimeNs, TlbShootdownStarted Start)>();
        var batches = new Dictionary<int, long>();
        foreach (TimelineEvent e in t.Events)
        {
            switch (e.Event)
            {
                case MembarrierEntered m:
                    open[m.Cpu] = (e.TimeNs, m);
                    break;
                case MembarrierExited r when open.Remove(r.Cpu, out var c):
                    double from = x(c.TimeNs), to = Math.Max(from + 2, x(e.TimeNs)), y = laneY(r.Cpu);
                    string label = $"membarrier({MembarrierCmd.Name(c.Call.Cmd)}) = {(r.Ret < 0 ? "-" + Errno.Name((int)-r.Ret) : r.Ret.ToString(CultureInfo.InvariantCulture))}";
                    svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{from:F1}\" y=\"{y + 1:F1}\" width=\"{to - from:F1}\" height=\"9\" fill=\"#ce93d8\" fill-opacity=\"0.8\"><title>{E(label)}</title></rect>");
                    svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{from + 2:F1}\" y=\"{y + 9:F1}\" font-size=\"9\">{E(label)}</text>");
                    break;
                case TlbShootdownStarted s:
                    flushes[s.Cpu] = (e.TimeNs, s);
                    break;
                case TextPokeStepped p:
                    DrawTextPoke(svg, p, e, x, laneY, batches);
                    break;
                case MmLamEnabled l:
                    // mm_enable_lam() sets the mm's mask before its IPIs: a line across every lane.
                    double lx = x(e.TimeNs), top = laneY(0), bottom = laneY(t.Cpus - 1) + 60;
                    svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{lx:F1}\" y1=\"{top:F1}\" x2=\"{lx:F1}\" y2=\"{bottom:F1}\" stroke=\"#00897b\" stroke-width=\"1\" stroke-dasharray=\"2,3\"><title>#{e.Index} mm {l.Mm}: LAM_U57 enabled ({l.Bits} tag bits)</title></line>");
                    break;
                case TlbShootdownFinished f when flushes.Remove(f.Cpu, out var sd):
                    double a = x(sd.TimeNs), b = Math.Max(a + 2, x(e.TimeNs));
                    svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{a:F1}\" y=\"{laneY(f.Cpu) + 57:F1}\" width=\"{b - a:F1}\" height=\"3\" fill=\"#8d6e63\"><title>flush_tlb_mm_range(mm {f.Mm}) to tlb_gen {f.TlbGen}</title></rect>");
                    break;
            }
        }
    }

    /// <summary>A text_poke batch as a band on its CPU's lane from P0 to P4, each write and sync a tick with its name.</summary>
    private static void DrawTextPoke(StringBuilder svg, TextPokeStepped p, TimelineEvent e, Func<long, double> x, Func<int, double> laneY, Dictionary<int, long> batches)
    {
        double y = laneY(p.Cpu), px = x(e.TimeNs);
        string label = Timeline.Describe(p);
        if (p.Phase == TextPokePhase.Began) batches[p.Batch] = e.TimeNs;
        else if (p.Phase == TextPokePhase.Ended && batches.Remove(p.Batch, out long from))
        {
            double a = x(from);
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{a:F1}\" y=\"{y + 1:F1}\" width=\"{Math.Max(2, px - a):F1}\" height=\"9\" fill=\"#ffe082\" fill-opacity=\"0.8\"><title>text_poke batch {p.Batch}, sites {E(Convert.ToString(p.Sites, 2))}</title></rect>");
        }
        string tick = p.Phase switch
        {
            TextPokePhase.Int3Written => "P1",
            TextPokePhase.Synced1 => "S1",
            TextPokePhase.TailWritten => "P2",
            TextPokePhase.Synced2 => "S2",
            TextPokePhase.FirstWritten => "P3",
            TextPokePhase.Synced3 => "S3",
            TextPokePhase.Ended => "P4",
            TextPokePhase.Began => "P0",
            _ => "×",
        };
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{px:F1}\" y1=\"{y + 1:F1}\" x2=\"{px:F1}\" y2=\"{y + 11:F1}\" stroke=\"#ff6f00\" stroke-width=\"1.5\"><title>#{e.Index} {E(label)}</title></line>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{px + 1:F1}\" y=\"{y + 9:F1}\" font-size=\"8\" fill=\"#e65100\">{tick}</text>");
    }

    private static void DrawIpis(StringBuilder svg, Timeline t, Func<long, double> x, Func<int, double> laneY)
    {
        var sent = new Dictionary<long, (long TimeNs, IpiSent Ipi)>();
        foreach (TimelineEvent e in t.Events)
        {
            if (e.Event is IpiSent s) sent[s.Ipi] = (e.TimeNs, s);
            else if (e.Event is IpiHandled h && h.Ipi != 0 && sent.Remove(h.Ipi, out var from))
            {
                double x1 = x(from.TimeNs), y1 = laneY(from.Ipi.From) + 30, x2 = x(e.TimeNs), y2 = laneY(h.Cpu) + 30;
                svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x1:F1}\" y1=\"{y1:F1}\" x2=\"{x2:F1}\" y2=\"{y2:F1}\" stroke=\"#6a1b9a\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>IPI {h.Ipi} {h.Kind} CPU {from.Ipi.From} → CPU {h.Cpu}</title></line>");
            }
        }
    }

    private static void DrawViolationWindows(StringBuilder svg, Timeline t, Func<long, double> x, Func<int, double> laneY)
    {
        foreach (Violation v in t.Violations)
        {
            if (v.Cpu < 0 || v.Cpu >= t.Cpus) continue;
            long startNs = t.Events.FirstOrDefault(e => e.Index >= v.WindowStart)?.TimeNs ?? t.StartNs;
            double a = x(startNs), b = Math.Max(a + 3, x(v.TimeNs));
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{a:F1}\" y=\"{laneY(v.Cpu):F1}\" width=\"{b - a:F1}\" height=\"{LaneHeight - 4}\" fill=\"#ffcdd2\"><title>window of {v.Property}: events {v.WindowStart}–{v.EventIndex}</title></rect>");
        }
    }

    private static void DrawViolations(StringBuilder svg, Timeline t, Func<long, double> x, int height)
    {
        int i = 0;
        foreach (Violation v in t.Violations)
        {
            double vx = x(v.TimeNs);
            double labelY = 12 + i++ % 3 * 12; // labels of violations at one instant stack instead of overlapping
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{vx:F1}\" y1=\"{labelY + 2:F1}\" x2=\"{vx:F1}\" y2=\"{height - 30}\" stroke=\"#e53935\" stroke-width=\"2\" stroke-dasharray=\"5,3\"><title>{E(v.Message)}</title></line>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Math.Min(vx + 4, Width - 160):F1}\" y=\"{labelY:F1}\" fill=\"#e53935\" font-weight=\"bold\">{E(v.Property)}</text>");
        }
    }

    private static void DrawAxis(StringBuilder svg, long t0, long t1, Func<long, double> x, double y)
    {
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - 20}\" y2=\"{y:F1}\" stroke=\"#444\"/>");
        for (int i = 0; i <= 8; i++)
        {
            long ns = t0 + (t1 - t0) * i / 8;
            double tx = x(ns);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{tx:F1}\" y1=\"{y:F1}\" x2=\"{tx:F1}\" y2=\"{y + 5:F1}\" stroke=\"#444\"/><text x=\"{tx - 20:F1}\" y=\"{y + 17:F1}\">{ns / 1000.0:F2} µs</text>");
        }
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
