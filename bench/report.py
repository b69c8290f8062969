#!/usr/bin/env python3
"""Turn the samples of `make bench` into results.json, PNG plots and docs/bench.md.

    bench/report.py BENCH_OUT DOCS_DIR

Reads BENCH_OUT/machine.json, BENCH_OUT/PART.jsonl (one sample or note a line, written
by bench/lib.sh) and BENCH_OUT/PART.status.json; writes BENCH_OUT/results.json,
DOCS_DIR/bench/results.json (a copy), DOCS_DIR/bench/*.png (gnuplot) and
DOCS_DIR/bench.md (bench/analysis.md, written by hand, is appended verbatim; so is
each part's file in bench/notes/ (net.md, blk.md, ...), at the top of its section:
dated notes on runs after the committed one, which must survive a regeneration).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

PARTS = ["net", "blk", "scale", "minmem", "recovery"]
BLK_JOBS = ["seqread-qd1", "seqread-qd32", "seqwrite-qd1", "seqwrite-qd32",
            "randread-qd1", "randread-qd32", "randwrite-qd1", "randwrite-qd32"]


def hand_notes(L, root, part):
    """The part's file in bench/notes/ (PART + ".md"), written by hand, verbatim (less its
    leading HTML comment)."""
    path = os.path.join(root, "bench", "notes", part + ".md")
    if not os.path.exists(path):
        return
    text = open(path).read().strip()
    if text.startswith("<!--"):
        text = text[text.index("-->") + 3:].strip()
    if text:
        L.append(text)
        L.append("")


def pct(vals, p):
    """Nearest-rank percentile."""
    v = sorted(vals)
    if not v:
        return None
    k = max(1, int(-(-p * len(v) // 100)))
    return v[k - 1]


def load(out):
    res = {"machine": {}, "parts": {}}
    try:
        res["machine"] = json.load(open(os.path.join(out, "machine.json")))
    except (OSError, ValueError):
        pass
    for part in PARTS:
        path = os.path.join(out, part + ".jsonl")
        if not os.path.exists(path):
            continue
        p = {"metrics": {}, "notes": {}, "status": None}
        try:
            p["status"] = json.load(open(os.path.join(out, part + ".status.json")))
        except (OSError, ValueError):
            pass
        for line in open(path):
            try:
                s = json.loads(line)
            except ValueError:
                continue
            if "note" in s:
                p["notes"][s["note"]] = s["text"]
                continue
            m = p["metrics"].setdefault(s["metric"], {})
            m.setdefault(s["setup"], {"runs": []})["runs"].append(s["value"])
        for m in p["metrics"].values():
            for st in m.values():
                r = st["runs"]
                st.update(n=len(r), median=statistics.median(r), min=min(r), max=max(r))
                if len(r) >= 2:
                    st["p99"] = pct(r, 99)
        # ratio reuse / native of medians, where both exist
        for m in p["metrics"].values():
            if "reuse" in m and "native" in m and m["native"]["median"]:
                m["ratio"] = round(m["reuse"]["median"] / m["native"]["median"], 3)
        res["parts"][part] = p
    return res


def med(res, part, metric, setup):
    try:
        return res["parts"][part]["metrics"][metric][setup]["median"]
    except KeyError:
        return None


def ratio(res, part, metric):
    try:
        return res["parts"][part]["metrics"][metric].get("ratio")
    except KeyError:
        return None


def targets(res):
    """Each of the issue's targets: value, bar, reached?"""
    t = []

    def add(name, value, bar, ok):
        t.append({"target": name, "value": value, "bar": bar,
                  "reached": None if value is None else bool(ok)})

    for d, label in (("tx", "transmit"), ("rx", "receive")):
        r = ratio(res, "net", d + "_mbps")
        add("net %s throughput vs native" % label, r, ">= 1.00x", r is not None and r >= 1.0)
        c = ratio(res, "net", d + "_cpu_s_per_gb")
        add("net %s host CPU/GB vs native" % label, c, "<= 1.30x", c is not None and c <= 1.3)
    for j in BLK_JOBS:
        r = ratio(res, "blk", j + "_mibps")
        bar = 0.95 if j.startswith("seq") else 0.90
        add("blk %s throughput vs native" % j, r, ">= %.2fx" % bar, r is not None and r >= bar)
    sc = res["parts"].get("scale", {}).get("metrics", {})
    for n in (1, 2, 4, 8):
        v = sc.get("idle_cpu_pct_n%d" % n, {}).get("driver-vm", {}).get("median")
        add("idle driver VM CPU (%d VMs), %% of a core each" % n, v, "<= 0.12 %",
            v is not None and v <= 0.12)
    for key, label in (("pss_mib_n8", "idle driver VM host memory (PSS, 8 VMs)"),
                       ("pss_ksm_mib_n8", "idle driver VM host memory (PSS, 8 VMs, KSM)")):
        v = sc.get(key, {}).get("driver-vm", {}).get("median")
        if v is not None or key == "pss_mib_n8":
            add(label + ", MiB", v, "<= 40 MiB", v is not None and v <= 40)
    v = med(res, "recovery", "fault_to_restored_ms", "cold")
    add("recovery p50 (kill -9, cold restart), ms", v, "<= 100 ms", v is not None and v <= 100)
    v = med(res, "recovery", "fault_to_restored_ms", "cold-virtio")
    if v is not None:
        add("recovery p50 (kill -9, cold restart, virtio-blk), ms", v, "<= 100 ms", v <= 100)
    v = med(res, "recovery", "fault_to_restored_ms", "snapshot")
    add("recovery p50 (kill -9, snapshot restart, virtio-blk), ms", v, "<= 100 ms",
        v is not None and v <= 100)
    return t


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def plots(res, outdir, tmp):
    made = []
    term = "set terminal pngcairo size 900,420 font 'sans,10'\n"
    # net: throughput medians with min..max, both setups
    net = res["parts"].get("net", {}).get("metrics", {})
    if "tx_mbps" in net and "rx_mbps" in net:
        dat = os.path.join(tmp, "net.dat")
        with open(dat, "w") as f:
            for d, lab in (("tx", "client->peer"), ("rx", "peer->client")):
                a, b = net[d + "_mbps"]["reuse"], net[d + "_mbps"]["native"]
                f.write('"%s" %g %g %g %g %g %g\n' % (lab, a["median"], a["min"], a["max"],
                                                      b["median"], b["min"], b["max"]))
        gnuplot(term + """set output '%s'
set title 'TCP throughput (iperf3), e1000: through the driver VM vs native (median, min..max)'
set ylabel 'Mbit/s'; set yrange [0:*]; set grid y
set style data histogram; set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1; set key top right
plot '%s' using 2:3:4:xtic(1) title 'driver VM', '' using 5:6:7 title 'native'
""" % (os.path.join(outdir, "net.png"), dat))
        made.append("net.png")
    blk = res["parts"].get("blk", {}).get("metrics", {})
    if all(j + "_mibps" in blk for j in BLK_JOBS):
        dat = os.path.join(tmp, "blk.dat")
        with open(dat, "w") as f:
            for j in BLK_JOBS:
                a, b = blk[j + "_mibps"]["reuse"], blk[j + "_mibps"]["native"]
                f.write('"%s" %g %g %g %g %g %g\n' % (j, a["median"], a["min"], a["max"],
                                                      b["median"], b["min"], b["max"]))
        gnuplot(term + """set output '%s'
set title 'fio on nvme: through the driver VM vs native (median, min..max)'
set ylabel 'MiB/s (log)'; set logscale y; set grid y; set xtics rotate by -20
set style data histogram; set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1; set key top right
plot '%s' using 2:3:4:xtic(1) title 'driver VM', '' using 5:6:7 title 'native'
""" % (os.path.join(outdir, "blk.png"), dat))
        made.append("blk.png")
    sc = res["parts"].get("scale", {}).get("metrics", {})
    rows = []
    for n in (1, 2, 4, 8):
        c = sc.get("idle_cpu_pct_n%d" % n, {}).get("driver-vm")
        m = sc.get("pss_mib_n%d" % n, {}).get("driver-vm")
        if c and m:
            rows.append("%d %g %g %g %g %g %g\n" % (n, c["median"], c["min"], c["max"],
                                                    m["median"], m["min"], m["max"]))
    if rows:
        dat = os.path.join(tmp, "scale.dat")
        open(dat, "w").write("".join(rows))
        gnuplot(term + """set output '%s'
set title 'Idle driver VMs: host CPU and memory per VM (median, min..max over the VMs)'
set xlabel 'idle driver VMs'; set xtics (1, 2, 4, 8); set xrange [0.5:8.5]
set ylabel '%% of one core per VM'; set y2label 'PSS MiB per VM'
set yrange [0:*]; set y2range [0:*]; set ytics nomirror; set y2tics; set grid y
set key bottom right opaque box
plot '%s' using 1:2:3:4 with yerrorlines lw 2 title 'CPU %% per VM', \
     '' using 1:5:6:7 axes x1y2 with yerrorlines lw 2 title 'PSS MiB per VM', \
     0.12 with lines dt 2 lc rgb 'red' title 'target 0.12 %%'
""" % (os.path.join(outdir, "scale.png"), dat))
        made.append("scale.png")
    rec = res["parts"].get("recovery", {}).get("metrics", {})
    if "fault_to_restored_ms" in rec:
        dat = os.path.join(tmp, "rec.dat")
        modes = list(rec["fault_to_restored_ms"])
        with open(dat, "w") as f:
            for mode in modes:
                for i, v in enumerate(rec["fault_to_restored_ms"][mode]["runs"]):
                    f.write("%d %g\n" % (i + 1, v))
                f.write("\n\n")
        plots_ = ", ".join("'%s' index %d using 1:2 with linespoints pt 7 lw 2 title '%s restart'"
                           % (dat, i, m) for i, m in enumerate(modes))
        gnuplot(term + """set output '%s'
set title 'Recovery: kill -9 of the driver VM to service restored (per trial)'
set xlabel 'trial'; set ylabel 'ms (log)'; set logscale y; set yrange [50:*]; set grid y; set key top right
plot %s, 100 with lines dt 2 lc rgb 'red' title 'target p50 100 ms'
""" % (os.path.join(outdir, "recovery.png"), plots_))
        made.append("recovery.png")
    return made


def fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, float) and abs(v) >= 100:
        return "%.0f" % v
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def spread(st):
    return "%s–%s" % (fmt(st["min"]), fmt(st["max"]))


def table_rr(res, part, rows):
    """Markdown rows: label, metric -> driver VM median (spread), native, ratio."""
    out = ["| | driver VM median (min–max) | native median (min–max) | ratio | runs |",
           "|---|---:|---:|---:|---:|"]
    ms = res["parts"].get(part, {}).get("metrics", {})
    for label, metric in rows:
        m = ms.get(metric)
        if not m or "reuse" not in m or "native" not in m:
            continue
        a, b = m["reuse"], m["native"]
        out.append("| %s | %s (%s) | %s (%s) | %s | %d / %d |" % (
            label, fmt(a["median"]), spread(a), fmt(b["median"]), spread(b),
            fmt(m.get("ratio")), a["n"], b["n"]))
    return "\n".join(out)


def perf_notes(L, part, prefix):
    notes = res_g["parts"].get(part, {}).get("notes", {})
    keys = [k for k in notes if k.startswith("perf_" + prefix)]
    if not keys:
        return
    L.append("Where the host CPU went (perf cpu-clock samples of the setup's QEMU processes "
             "during one extra run, by thread and DSO; `[JIT]` = TCG-generated guest code, "
             "`qemu-system-x86_64` = TCG helpers, translator and device models):")
    L.append("")
    for k in sorted(keys):
        L.append("- `%s`: %s" % (k[5:], notes[k]))
    L.append("")


def report(res, made, docs, root):
    mc = res["machine"]
    L = []
    L.append("# Benchmarks: ddvm against native, side by side")
    L.append("")
    L.append("Generated by `make bench` (bench/run.sh → bench/*.sh → bench/report.py); the "
             "numbers below are from the run recorded in `docs/bench/results.json`. Regenerate "
             "with `make bench` (about 28 minutes here), or one part with `make bench-net`, "
             "`bench-blk`, `bench-scale`, `bench-recovery`; `make bench-ring` is the ring alone "
             "(docs/channel.md).")
    L.append("")
    L.append("## Where and when")
    L.append("")
    L.append("| | |\n|---|---|")
    for k, lab in (("date", "measured (UTC)"), ("host", "host"), ("cpu", "CPU"),
                   ("cores", "host cores"), ("mem_mib", "host memory, MiB"),
                   ("accel", "accelerator"), ("qemu", "QEMU"), ("guest_kernel", "guest kernel"),
                   ("host_kernel", "host kernel"), ("loadavg_start", "load average at start")):
        L.append("| %s | %s |" % (lab, mc.get(k, "?")))
    L.append("")
    if mc.get("accel") == "tcg":
        L.append("**All numbers are TCG numbers.** This host has a /dev/kvm that hangs guests "
                 "(`ddvm accel` falls back to TCG), so every guest instruction — the stock "
                 "drivers, the translation modules, the client drivers, iperf3 and fio — is "
                 "translated by QEMU's TCG. Ratios between setups measured in the same run are "
                 "meaningful; absolute numbers are one to two orders of magnitude below KVM.")
        L.append("")
    L.append("Each measurement is taken side by side with its baseline in one run: both "
             "setups are up at the same time and runs alternate between them. Tables show "
             "the median and the spread (min–max) over the runs; ratio = driver VM median / "
             "native median. Host CPU = utime + stime (/proc/PID/stat) of every process "
             "of the setup (driver VM + client VM QEMUs and the supervisor for reuse, the one "
             "VM's QEMU for native), per GB (10^9 bytes) moved. The reuse setups of net and "
             "blk are started by `ddvm up` from a config file a user could write, and their "
             "client commands are typed into the client's console; native is a hand-built "
             "QEMU command line.")
    L.append("")
    st = {p: res["parts"][p].get("status") for p in res["parts"]}
    tot = sum(s_["seconds"] for s_ in (res["parts"][p].get("status") for p in res["parts"]) if s_)
    L.append("Whole run: %d s (%.1f min)." % (tot, tot / 60.0))
    L.append("")
    L.append("Parts: " + ", ".join("%s (%s)" % (p, ("rc %s, %s s%s" % (
        s["rc"], s["seconds"], ("; " + s["note"]) if s.get("note") else "")) if s else
        # a phase of another part's script (minmem runs inside bench/scale.sh)
        "in the part before it" if res["parts"][p].get("metrics") else "not run")
        for p, s in st.items()) + ".")
    L.append("")
    L.append('## Targets (docs/architecture.md, "The bars")')
    L.append("")
    L.append("| target | measured | bar | |")
    L.append("|---|---:|---:|---|")
    for t in res["targets"]:
        v = t["value"]
        mark = "not measured" if t["reached"] is None else ("**reached**" if t["reached"] else "**missed**")
        if v is None and "snapshot" in t["target"]:
            mark = "not implemented"
        L.append("| %s | %s | %s | %s |" % (t["target"], fmt(v, 3), t["bar"], mark))
    L.append("")
    # --- net
    net = res["parts"].get("net")
    if net:
        L.append("## 1. Network (e1000)")
        L.append("")
        hand_notes(L, root, "net")
        L.append("Client VM (ddvm_netfront) → channel → driver VM (ddvm_netback + Debian's e1000) "
                 "→ emulated e1000 → tap → peer in a private network namespace, vs the same "
                 "client VM image owning an emulated e1000 on its own tap. %s. Latency: ping "
                 "RTT (ICMP, 20 pings 50 ms apart, average per run) and TCP request/response "
                 "(bench/tcp_rr.c, a netperf TCP_RR in miniature: one connection, TCP_NODELAY, "
                 "1-byte request and response, 2 s per run)."
                 % net["notes"].get("iperf3", ""))
        L.append("")
        L.append(table_rr(res, "net", [
            ("TCP client→peer Mbit/s", "tx_mbps"), ("TCP peer→client Mbit/s", "rx_mbps"),
            ("client→peer host CPU s/GB", "tx_cpu_s_per_gb"),
            ("peer→client host CPU s/GB", "rx_cpu_s_per_gb"),
            ("ping RTT ms, 56 B", "ping_rtt_ms_56"), ("ping RTT ms, 1400 B", "ping_rtt_ms_1400"),
            ("TCP_RR transactions/s", "tcp_rr_trans_per_s"), ("TCP_RR p50 µs", "tcp_rr_p50_us"),
            ("TCP_RR p99 µs", "tcp_rr_p99_us")]))
        L.append("")
        L.append("Load average during the part: %s → %s." % (net["notes"].get("load_before", "?"),
                                                          net["notes"].get("load_after", "?")))
        L.append("")
        perf_notes(L, "net", "net-")
        if "net.png" in made:
            L.append("![net](bench/net.png)")
            L.append("")
    blk = res["parts"].get("blk")
    if blk:
        L.append("## 2. Block (nvme)")
        L.append("")
        hand_notes(L, root, "blk")
        L.append("Client VM (ddvm_blkfront) → channel → driver VM (ddvm_blkback + Debian's nvme) "
                 "→ emulated nvme → raw image, vs the same client VM image owning the same "
                 "emulated nvme (same -drive options: raw, cache=writeback, no zero detection) with "
                 "Debian's nvme driver. "
                 "%s." % blk["notes"].get("fio", ""))
        L.append("")
        rows = []
        for j in BLK_JOBS:
            rows += [("%s MiB/s" % j, j + "_mibps")]
        L.append(table_rr(res, "blk", rows))
        L.append("")
        L.append(table_rr(res, "blk", [("%s IOPS" % j, j + "_iops") for j in BLK_JOBS]))
        L.append("")
        L.append(table_rr(res, "blk", [("%s host CPU s/GB" % j, j + "_cpu_s_per_gb")
                                       for j in BLK_JOBS]))
        L.append("")
        L.append("How busy the setup's QEMU processes were during each job (%% of one host "
                 "core, summed over the setup's QEMUs) — low means waiting, not computing:")
        L.append("")
        L.append(table_rr(res, "blk", [("%s host CPU %%" % j, j + "_host_cpu_pct")
                                       for j in BLK_JOBS]))
        L.append("")
        to = {}
        for j in BLK_JOBS:
            for st, v in blk["metrics"].get(j + "_nvme_timeouts", {}).items():
                to.setdefault(st, []).extend("%s run %d" % (j, i + 1) for i, x in enumerate(v["runs"]) if x)
        if to:
            L.append("Runs in which the VM driving the emulated nvme logged a command timeout "
                     "(QEMU 7.2's nvme stall under TCG, docs/blk.md; `nvme_core.io_timeout=3`): "
                     + "; ".join("%s: %s" % (st, ", ".join(v) or "none") for st, v in sorted(to.items()))
                     + ".")
            L.append("")
        if "guest_memcpy" in blk["notes"]:
            L.append("Guest memory copy speed under this accelerator, for scale: %s." %
                     blk["notes"]["guest_memcpy"])
            L.append("")
        perf_notes(L, "blk", "blk-")
        L.append("Load average during the part: %s → %s." % (blk["notes"].get("load_before", "?"),
                                                          blk["notes"].get("load_after", "?")))
        L.append("")
        if "blk.png" in made:
            L.append("![blk](bench/blk.png)")
            L.append("")
    sc = res["parts"].get("scale")
    if sc:
        L.append("## 3. Scale and footprint")
        L.append("")
        hand_notes(L, root, "scale")
        L.append("Idle driver VMs: %s. Per VM: %% of one host core (utime + stime of its QEMU "
                 "over the window) and PSS (/proc/PID/smaps_rollup); median and min–max over "
                 "the VMs." % sc["notes"].get("idle", ""))
        L.append("")
        L.append("| idle driver VMs | CPU % of a core per VM | PSS MiB per VM | host load (1 min) |")
        L.append("|---:|---:|---:|---|")
        m = sc["metrics"]
        for n in (1, 2, 4, 8):
            c = m.get("idle_cpu_pct_n%d" % n, {}).get("driver-vm")
            p = m.get("pss_mib_n%d" % n, {}).get("driver-vm")
            if c and p:
                L.append("| %d | %s (%s) | %s (%s) | %s |" % (
                    n, fmt(c["median"], 3), "%s–%s" % (fmt(c["min"], 3), fmt(c["max"], 3)),
                    fmt(p["median"], 1), spread(p), sc["notes"].get("load_n%d" % n, "?")))
        L.append("")
        b = m.get("idle_cpu_pct_bare", {}).get("bare-vm")
        if b:
            L.append("Control, measured in the same window as the single driver VM: a driver "
                     "VM of the same image and defaults with no device and no channel: %s %% "
                     "of a core." % fmt(b["median"], 3))
            L.append("")
        sp = [m.get(k, {}).get("driver-vm") for k in
              ("pss_guest_ram_mib", "pss_tcg_buffer_mib", "pss_qemu_other_mib")]
        if all(sp):
            L.append("PSS of one idle driver VM split by mapping (/proc/PID/smaps): guest RAM "
                     "touched %s MiB, TCG translation buffer %s MiB, the rest of QEMU %s MiB." %
                     tuple(fmt(x["median"], 1) for x in sp))
            L.append("")
        perf_notes(L, "scale", "idle")
        k = m.get("pss_ksm_mib_n8", {}).get("driver-vm")
        if k:
            L.append("With KSM merging (8 VMs): PSS %s MiB per VM (%s); %s." % (
                fmt(k["median"], 1), spread(k), sc["notes"].get("ksm", "")))
        else:
            L.append("KSM: %s." % sc["notes"].get("ksm", "not measured"))
        L.append("")
        mp = res["parts"].get("minmem", {})
        mm = mp.get("metrics", {}).get("minmem_pass", {})
        if mm:
            L.append("Smallest guest memory (%s): " % mp["notes"].get("minmem", "") +
                     ", ".join("%s %s" % (s, "passes" if v["runs"][0] else "fails")
                               for s, v in sorted(mm.items(), key=lambda kv: int(kv[0][:-3]))) +
                     ". The check: the driver VM (e1000 + nvme, ddvm_netback + ddvm_blkback) "
                     "boots, the client pings the peer through it and runs fio randwrite+verify "
                     "4 MiB through it; a size that fails leaves its evidence in "
                     "`build/bench/minmem-SIZE.txt`.")
            L.append("")
        if "scale.png" in made:
            L.append("![scale](bench/scale.png)")
            L.append("")
    rec = res["parts"].get("recovery")
    if rec:
        L.append("## 4. Recovery")
        L.append("")
        hand_notes(L, root, "recovery")
        L.append("Supervised driver VM (nvme + ddvm_blkback), client VM running fio "
                 "randwrite+verify in a loop; per trial `ddvm inject drv kill` (SIGKILL of the "
                 "driver VM's QEMU) once the client's I/O is moving. detect = the supervisor's "
                 "'detected N ms after injecting', restore = its 'service restored N ms after "
                 "the failure was detected'; fault → restored is their sum; client I/O = "
                 "injection → the client's requests complete again (host clock, polled every "
                 "20 ms).")
        L.append("")
        L.append("| restart | metric | p50 | p99 | min–max | trials |")
        L.append("|---|---|---:|---:|---:|---:|")
        for mode in rec["metrics"].get("fault_to_restored_ms", {"cold": 0}):
            for metric in ("fault_to_restored_ms", "detect_ms", "restore_ms", "boot_ms",
                           "fault_to_client_io_ms"):
                s = rec["metrics"].get(metric, {}).get(mode)
                if s:
                    L.append("| %s | %s | %s | %s | %s | %d |" % (
                        mode, metric, fmt(s["median"]), fmt(pct(s["runs"], 99)), spread(s), s["n"]))
        L.append("")
        if "snapshot" in rec["notes"]:
            L.append("Fast restart: %s." % rec["notes"]["snapshot"])
            L.append("")
        for k, v in rec["notes"].items():
            if k.endswith("client_errors"):
                L.append("Client during %s trials: %s." % (k.split("_")[0], v))
                L.append("")
        L.append("p99 over %s trials is the nearest-rank value, i.e. the largest; it says "
                 "little more than the maximum." % (rec["metrics"].get("fault_to_restored_ms", {})
                                                    .get("cold", {}).get("n", "?")))
        L.append("")
        if "recovery.png" in made:
            L.append("![recovery](bench/recovery.png)")
            L.append("")
    an = os.path.join(root, "bench", "analysis.md")
    if os.path.exists(an):
        L.append(open(an).read().rstrip())
        L.append("")
    open(os.path.join(docs, "bench.md"), "w").write("\n".join(L))


def main():
    out, docs = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    global res_g
    res = load(out)
    res_g = res
    res["targets"] = targets(res)
    json.dump(res, open(os.path.join(out, "results.json"), "w"), indent=1)
    outdir = os.path.join(docs, "bench")
    os.makedirs(outdir, exist_ok=True)
    shutil.copy(os.path.join(out, "results.json"), os.path.join(outdir, "results.json"))
    made = plots(res, outdir, out)
    report(res, made, docs, root)
    for t in res["targets"]:
        print("%-55s %10s %10s  %s" % (t["target"], fmt(t["value"], 3), t["bar"],
                                       {None: "-", True: "reached", False: "MISSED"}[t["reached"]]))
    print("wrote %s, %s" % (os.path.join(out, "results.json"), os.path.join(docs, "bench.md")))


if __name__ == "__main__":
    main()
