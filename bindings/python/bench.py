#!/usr/bin/env python3
"""bench.py: what a call costs from Python, next to hl-bench's C rows for the same guest
(bench_guest.elf) and the same JS handler and event: median and p90 of N samples per row.
  python3 bindings/python/bench.py [GUEST_DIR] [N]   (GUEST_DIR: default build/guests)
Run `hl-bench --only call.nop,call.echo,call.host,js.call,js.fresh --alone` in the same machine
for the C numbers."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hyperlight as hl  # noqa: E402

HANDLER = ("export function handler(e) {\n"
           "  const total = e.items.reduce((s, x) => s + x.price * x.qty, 0);\n"
           "  return { id: e.id, total, tag: `order-${e.id}` };\n}\n")
EVENT = {"id": 7, "items": [{"price": 3, "qty": 2}, {"price": 5, "qty": 1}]}


def row(name, fn, n):
    for _ in range(max(3, n // 10)):
        fn()
    ns = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        ns.append(time.perf_counter_ns() - t)
    ns.sort()
    print("%-44s median %9.2f us   p90 %9.2f us   (%d samples)"
          % (name, statistics.median(ns) / 1e3, ns[int(len(ns) * 0.9)] / 1e3, n))


def main():
    gdir = sys.argv[1] if len(sys.argv) > 1 else "build/guests"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    print("python %s, libhyperlight %s (%s)" % (sys.version.split()[0], hl.version(),
                                                hl.library_path()))
    with hl.Sandbox(os.path.join(gdir, "bench_guest.elf"),
                    functions={"HostNop": (lambda: 0, [], "i32")}) as sb:
        row("py call.nop    sb.call('Nop')", lambda: sb.call("Nop"), n)
        row("py call.echo   sb.call('Echo', 'hello, world')",
            lambda: sb.call("Echo", "hello, world"), n)
        row("py call.host   sb.call('CallHost') (Python HostNop)", lambda: sb.call("CallHost"), n)
    if hl.js_available():
        with hl.JSSandbox() as js:
            js.load_module("bench.js", HANDLER)
            row("py js.call     js.call(event=dict)", lambda: js.call("bench.js", "handler", EVENT),
                n)
        with hl.JSSandbox(reset_after_call=True) as js:
            js.load_module("bench.js", HANDLER)
            row("py js.fresh    reset_after_call, js.call(event=dict)",
                lambda: js.call("bench.js", "handler", EVENT), n)


if __name__ == "__main__":
    main()
