#!/usr/bin/env python3
"""chart.py: draws docs/perf.png from hl-bench's JSON: for every library row that has a floor,
its median latency (with a line out to p99) next to the floor's median, on a log scale.

Standard library only (zlib + struct write the PNG; a 5x8 bitmap font draws the text), so it runs
anywhere python3 does.  Usage: python3 bench/chart.py build/bench.json docs/perf.png
"""
import json
import math
import struct
import sys
import zlib

# 5x8 font for ASCII 32..126: five column bytes per glyph, bit 0 = top row (the classic glcdfont).
FONT_HEX = (
    "0000000000 00005f0000 0007000700 147f147f14 242a7f2a12 2313086462 3649562050 0008070300"
    " 001c224100 0041221c00 2a1c7f1c2a 08083e0808 0080703000 0808080808 0000606000 2010080402"
    " 3e5149453e 00427f4000 7249494946 2141494d33 1814127f10 2745454539 3c4a494931 4121110907"
    " 3649494936 464949291e 0000140000 0040340000 0008142241 1414141414 0041221408 0201590906"
    " 3e415d594e 7c1211127c 7f49494936 3e41414122 7f4141413e 7f49494941 7f09090901 3e41415173"
    " 7f0808087f 00417f4100 2040413f01 7f08142241 7f40404040 7f021c027f 7f0408107f 3e4141413e"
    " 7f09090906 3e4151215e 7f09192946 2649494932 03017f0103 3f4040403f 1f2040201f 3f4038403f"
    " 6314081463 0304780403 6159494d43 007f414141 0204081020 004141417f 0402010204 4040404040"
    " 0003070800 2054547840 7f28444438 3844444428 384444287f 3854545418 00087e0902 18a4a49c78"
    " 7f08040478 00447d4000 2040403d00 7f10284400 00417f4000 7c0478047c 7c08040478 3844444438"
    " fc18242418 18242418fc 7c08040408 4854545424 04043f4424 3c4040207c 1c2040201c 3c4030403c"
    " 4428102844 4c9090907c 4464544c44 0008364100 0000770000 0041360800 0201020402"
)
FONT = [bytes.fromhex(g) for g in FONT_HEX.split()]
SCALE = 2  # font pixels per bitmap pixel
CHAR_W = 6 * SCALE
LINE_H = 9 * SCALE

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GRID = (225, 225, 225)
LIB = (46, 109, 180)
FLOOR = (160, 160, 160)
MISS = (200, 60, 40)


class Canvas:
    def __init__(self, width, height):
        self.w, self.h = width, height
        self.px = bytearray(WHITE * (width * height))

    def rect(self, x0, y0, x1, y1, color):
        x0, x1 = max(0, int(x0)), min(self.w, int(x1))
        y0, y1 = max(0, int(y0)), min(self.h, int(y1))
        row = bytes(color) * max(0, x1 - x0)
        for y in range(y0, y1):
            start = (y * self.w + x0) * 3
            self.px[start:start + len(row)] = row

    def text(self, x, y, s, color=BLACK):
        for ch in s:
            code = ord(ch)
            glyph = FONT[code - 32] if 32 <= code < 127 else FONT[ord("?") - 32]
            for col, bits in enumerate(glyph):
                for row in range(8):
                    if bits >> row & 1:
                        self.rect(x + col * SCALE, y + row * SCALE,
                                  x + (col + 1) * SCALE, y + (row + 1) * SCALE, color)
            x += CHAR_W

    def png(self):
        raw = b"".join(b"\0" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3])
                       for y in range(self.h))

        def chunk(kind, data):
            return (struct.pack(">I", len(data)) + kind + data +
                    struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def fmt_ns(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return "%g %s" % (round(ns / div, 3), unit)
    return "%g ns" % round(ns)


def rows_with_floors(report):
    rows = []
    for r in report["rows"]:
        if r.get("status") == "ok" and r.get("floor") and r.get("floor_median_ns"):
            rows.append(r)
    return rows


class Axis:
    """Log-scale x axis from a power of ten below the smallest value to one above the largest."""

    def __init__(self, lo, hi, x0, x1):
        self.lo = math.floor(math.log10(lo))
        self.hi = math.ceil(math.log10(hi))
        self.x0, self.x1 = x0, x1

    def x(self, ns):
        f = (math.log10(max(ns, 10 ** self.lo)) - self.lo) / (self.hi - self.lo)
        return self.x0 + f * (self.x1 - self.x0)


def draw_grid(c, axis, top, bottom):
    for p in range(axis.lo, axis.hi + 1):
        x = axis.x(10 ** p)
        c.rect(x, top, x + 1, bottom, GRID)
        label = fmt_ns(10 ** p)
        c.text(x - len(label) * CHAR_W // 2, bottom + 8, label)


def draw_legend(c, x, y):
    c.rect(x, y + 4, x + 30, y + 16, LIB)
    c.text(x + 40, y, "libhyperlight median, line to p99")
    x += 40 + 34 * CHAR_W + 30
    c.rect(x, y + 6, x + 30, y + 14, FLOOR)
    c.text(x + 40, y, "its floor: own raw-KVM code / memcpy (same run)")


def fmt_ratio(v):
    return "%.0fx" % v if v >= 100 else "%.1fx" % v if v >= 10 else "%.2fx" % v


def short(row_id):
    return row_id.split(".", 1)[-1]


def target_status(report):
    """Row id -> [(base, "PASS" or "MISS")] for the targets that judge the row; base is the base
    row's id, or for an absolute target (no base row) its limit as text, e.g. "<= 1 us"."""
    status = {}
    for t in report.get("targets", []):
        if t.get("status") in ("PASS", "MISS") and t.get("row"):
            base = t.get("base") or "<= " + fmt_ns(t["limit"])
            status.setdefault(t["row"], []).append((base, t["status"]))
    return status


def draw_row(c, axis, r, y, label_w, status):
    label = r["id"]
    c.text(16, y + 6, label[:label_w])
    lib_x = axis.x(r["median_ns"])
    c.rect(axis.x0, y + 2, lib_x, y + 20, LIB)
    p99_x = axis.x(r["p99_ns"])
    c.rect(lib_x, y + 10, p99_x, y + 12, BLACK)
    c.rect(p99_x - 1, y + 6, p99_x + 1, y + 16, BLACK)
    c.rect(axis.x0, y + 22, axis.x(r["floor_median_ns"]), y + 32, FLOOR)
    floor = "+".join(short(f) for f in r["floor"].split("+"))
    text = "%s %s" % (fmt_ratio(r["floor_ratio"]), floor)
    verdicts = status.get(r["id"], [])
    for base, verdict in verdicts:
        if base.startswith("<="):
            text += "  %s %s" % (verdict, base)
        else:
            text += "  " + verdict + ("" if base == r["floor"] else " vs " + short(base))
    missed = any(v == "MISS" for _, v in verdicts)
    c.text(axis.x1 + 16, y + 10, text, MISS if missed else BLACK)


def render(report, out_path):
    rows = rows_with_floors(report)
    if not rows:
        sys.exit("chart.py: no rows with a floor in the JSON")
    label_w = max(len(r["id"]) for r in rows)
    x0 = 16 + label_w * CHAR_W + 20
    x1 = x0 + 900
    width, top, row_h = x1 + 44 * CHAR_W, 110, 44
    height = top + row_h * len(rows) + 60
    values = [v for r in rows for v in (r["median_ns"], r["p99_ns"], r["floor_median_ns"])]
    axis = Axis(min(values), max(values), x0, x1)
    c = Canvas(width, height)
    c.text(16, 16, "hl-bench %s: median latency of each operation against its floor (log scale)%s"
           % (report.get("version", ""), ", quick run" if report.get("quick") else ""))
    c.text(16, 16 + LINE_H, report.get("machine", ""))
    draw_legend(c, 16, 16 + 2 * LINE_H + 10)
    draw_grid(c, axis, top - 6, top + row_h * len(rows))
    status = target_status(report)
    for i, r in enumerate(rows):
        draw_row(c, axis, r, top + i * row_h, label_w, status)
    with open(out_path, "wb") as f:
        f.write(c.png())


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: chart.py BENCH.json OUT.png")
    with open(argv[1]) as f:
        report = json.load(f)
    render(report, argv[2])


if __name__ == "__main__":
    main(sys.argv)
