#!/usr/bin/env python3
"""Writes docs/benchmarks.md and its chart from the rows the bench scripts recorded.

Usage: report.py RESULTS.tsv RUNS STARTED OUT.md OUT.png

Each row of RESULTS.tsv (see `result` in bench/lib.sh) is:
bench, task, unit, ours, peer, peer name, ratio (ours / peer), ours RSS MB, peer RSS MB,
the bound on the ratio and the bound on the peak-RSS ratio (for rows with a bound to meet:
the table then says whether each was met), and the server's CPU seconds per pull, ours and
the peer's (pull rows: servers and clients run pinned to one core each). "-" for none;
older 9- and 11-field rows are read with the missing fields as "-".
For "req/s" higher is better; for every other unit lower is better. The chart shows each
ratio as a cost, ours relative to the peer (below 1 = ours is better), so every bar reads
the same way.
"""
import os
import platform
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def sh(command):
    try:
        return subprocess.run(command, shell=True, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def bound_text(ratio, bound, ours_rss, peer_rss, rss_bound):
    """'<= 0.5x: met; RSS <= 2x: met' for a row with bounds, empty for one without."""
    parts = []
    r, b = number(ratio), number(bound)
    if b is not None:
        parts.append(f"<= {bound}x: {'met' if r is not None and r <= b else '**missed**'}")
    o, p, rb = number(ours_rss), number(peer_rss), number(rss_bound)
    if rb is not None and o is not None and p:
        parts.append(f"RSS {o / p:.2f}x <= {rss_bound}x: {'met' if o / p <= rb else '**missed**'}")
    return "; ".join(parts)


def main():
    results, runs, started, out_md, out_png = sys.argv[1:6]
    rows = []
    with open(results, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) in (9, 11):
                fields += ["-"] * (13 - len(fields))
            if len(fields) == 13:
                rows.append(fields)
    if not rows:
        sys.exit("report.py: no results recorded")

    cpu = sh("awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo")
    memory = sh("free -g | awk '/Mem:/ {print $2}'")
    debian = sh(". /etc/os-release && echo $PRETTY_NAME")
    versions = {
        "ostree": sh("ostree --version | awk '/Version/ {print $2}' | tr -d \"'\""),
        "skopeo": sh("skopeo --version | awk '{print $3}'"),
        "umoci": sh("umoci --version | awk '{print $3}'"),
        "nginx": sh("nginx -v 2>&1 | sed 's|.*/||'"),
        "docker-registry": sh("docker-registry --version | awk '{print $3}'"),
        ".NET": sh("dotnet --version"),
    }
    commit = sh("git rev-parse --short HEAD")

    out = []
    out.append("# Benchmarks: ostree-container against its peers\n")
    out.append(
        f"Written by `bench/run {runs}` on {started} from commit `{commit}`. Every row runs our tool "
        "and the peer side by side in the same run on the OS fixture "
        "(`../shared/fixtures/make-os-repo.sh`: a debootstrapped Debian tree, about 10k files), "
        f"{runs} times each; the table shows medians. **ratio** = ours / peer: for times and sizes below "
        "1.0 means ours is faster or smaller; for req/s above 1.0 means ours serves more. Peak RSS is "
        "from `/usr/bin/time` (or the server's `VmHWM`). Full logs of the run: `out/bench-logs/`.\n"
    )
    out.append(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory} GiB RAM, {debian}, "
        f"kernel {platform.release()}. Peers: "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v)
        + ".\n"
    )
    out.append(f"![ratios](benchmarks.png)\n")
    out.append(
        "| bench | measure | unit | ours | peer | peer is | ratio | ours peak RSS (MB) | peer peak RSS (MB) "
        "| ours server CPU (s) | peer server CPU (s) | bound |"
    )
    out.append("|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for bench, task, unit, ours, peer, peer_name, ratio, ours_rss, peer_rss, bound, rss_bound, ours_cpu, peer_cpu in rows:
        out.append(
            f"| {bench} | {task} | {unit} | {ours} | {peer} | {peer_name} | **{ratio}** | {ours_rss} | {peer_rss} "
            f"| {ours_cpu} | {peer_cpu} | {bound_text(ratio, bound, ours_rss, peer_rss, rss_bound)} |"
        )
    out.append("")
    out.append(
        "How to read the webserver rows: `(a)` wrk with 2 threads and 16 connections on one small "
        "object; `(b)` the real `ostree pull` into a fresh bare-user repo; `(c)` ours serving a "
        "bare-user repo (transcoding `.filez` on the fly, then from its cache) against nginx serving "
        "the archive repo; `(d)` start-up and memory; `(e)` the object map. The pull rows compare "
        "`ostree-container pull` from a local `docker-registry` with the real `ostree pull` of the "
        "same commit from nginx, and with `skopeo copy` of the whole image (transport only, no import). "
        "The delta rows compare `ostree-container static-delta` with `ostree static-delta` on copies of "
        "the OS fixture: generating C1 -> C2 and a from-scratch delta of C2 (the latter once per run of "
        "the bench), the size of each (parts plus fallback objects, as `ostree static-delta show` totals "
        "them), and applying ostree's own C1 -> C2 delta into a bare-user repo holding C1; the bound "
        "column holds issue 14's limits. The update rows (issue 15) pull C1 then C2 from the registry "
        "into bare-user repos with `ostree-container pull` (bytes of the update counted by an nginx "
        "proxy in front of the registry, against `ostree static-delta show`'s total for ostree's own "
        "C1 -> C2 delta; wall time against `ostree pull` C1 -> C2 by that delta from nginx), the first "
        "`ostree pull` of C2 from our webserver by a from-scratch delta and by objects only (each "
        "against nginx serving the same repo; no bound: on loopback the from-scratch delta trades "
        "requests for one-core xz), and `build` with the C1 -> C2 delta generated against `build "
        "--no-deltas`. The import row (issue 16) pulls a plain OCI image of C2's tree (made by buildah "
        "from a checkout, no ostree labels) from an OCI layout into a fresh bare-user repo with "
        "`ostree-container pull` (layers streamed into the repo) against `umoci unpack` of the same "
        "image followed by `ostree commit --tree=dir=` of the extracted tree (bound <= 1.0x, goal 0.4x; "
        "not pinned: no server).\n"
    )
    out.append(
        "Pinning: every pull row runs the server (nginx, our webserver, docker-registry, the counting "
        "nginx proxy) on one core and the client (`ostree pull`, `ostree-container pull`, `skopeo`, "
        "`wrk`) on the other with `taskset`, both sides alike, so a server that spends more CPU does "
        "not look slower only because it competes with its client on 2 cores. **server CPU** is the "
        "server processes' user + system time during one pull (from `/proc/PID/stat`), median of the "
        "runs: what the server would cost per client across a real network."
    )
    with open(out_md, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")

    # The chart: every ratio as a cost (ours relative to the peer, lower is better).
    labels, costs = [], []
    for bench, task, unit, ours, peer, peer_name, ratio, *_ in rows:
        o, p = number(ours), number(peer)
        if o is None or p is None or o == 0 or p == 0:
            continue
        cost = p / o if unit == "req/s" else o / p
        labels.append(f"{bench}: {task} (vs {peer_name})")
        costs.append(cost)
    height = max(3.0, 0.38 * len(labels) + 1.2)
    fig, ax = plt.subplots(figsize=(11, height))
    colors = ["#2e7d32" if c <= 1.0 else "#c62828" for c in costs]
    ax.barh(range(len(costs)), costs, color=colors)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=1)
    for i, c in enumerate(costs):
        ax.text(c, i, f" {c:.2f}", va="center", fontsize=8)
    ax.set_xlabel("cost relative to the peer (ours / peer; for req/s peer / ours) - below 1 = ours is better")
    ax.set_title(f"ostree-container vs peers, median of {runs} runs ({commit})")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


if __name__ == "__main__":
    main()
