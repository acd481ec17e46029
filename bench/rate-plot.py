#!/usr/bin/env python3
"""rate-plot.py OUT.svg NAME=STATS_FILE...: trawl's sending rate over time
(the controller's rate from `--stats-every` lines on stderr: "Stats: Xs
elapsed; ... rate R pkt/s; ...") for each run, as one SVG with a line per
run. Written by bench/scan.sh's `plot` scenario for docs/rate-control.md;
plain SVG text, no plotting library."""
import re
import sys

LINE = re.compile(r"^Stats: ([0-9.]+)s elapsed;.*; rate ([0-9]+) pkt/s;")
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def series(path):
    pts = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                pts.append((float(m.group(1)), float(m.group(2))))
    return pts


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = []
    for arg in sys.argv[2:]:
        name, _, path = arg.partition("=")
        runs.append((name, series(path)))
    tmax = max([p[0] for _, s in runs for p in s] + [0.1])
    rmax = max([p[1] for _, s in runs for p in s] + [1.0])
    W, H, L, B, T, R = 720, 360, 70, 40, 20, 150
    pw, ph = W - L - R, H - T - B
    x = lambda t: L + pw * t / tmax
    y = lambda r: T + ph * (1 - r / rmax)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, T + ph, L + pw, T + ph),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, T, L, T + ph)]
    for k in range(5):
        r, t = rmax * k / 4, tmax * k / 4
        out.append('<text x="%d" y="%.1f" text-anchor="end">%dk</text>' % (L - 5, y(r) + 4, r / 1000))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%.1fs</text>' % (x(t), T + ph + 16, t))
    out.append('<text x="%d" y="%d" text-anchor="middle">time since the scan started</text>' % (L + pw / 2, H - 4))
    out.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">rate (pkt/s)</text>' % (T + ph / 2, T + ph / 2))
    for i, (name, pts) in enumerate(runs):
        c = COLORS[i % len(COLORS)]
        if pts:
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (
                c, " ".join("%.1f,%.1f" % (x(t), y(r)) for t, r in pts)))
        out.append('<text x="%d" y="%d" fill="%s">%s (%d samples)</text>' % (L + pw + 10, T + 16 + 18 * i, c, name, len(pts)))
    out.append("</svg>")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
