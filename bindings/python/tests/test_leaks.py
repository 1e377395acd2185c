"""Create/call/destroy cycles keep file descriptors and RSS flat. HL_PY_LEAK_CYCLES sets the
number of cycles (10,000 by default; fewer in an emulated machine)."""
import gc
import os
import unittest

import hyperlight as hl

from _util import guest_path, open_fds, requires_js, requires_kvm, rss_kib

CYCLES = int(os.environ.get("HL_PY_LEAK_CYCLES", "10000"))
WARMUP = max(20, CYCLES // 20)
RSS_SLACK_KIB = 8 * 1024


def measure():
    gc.collect()
    hl.vm_pool_drain()
    return open_fds(), rss_kib()


@requires_kvm
class TestLeaks(unittest.TestCase):
    def cycles(self, once, n):
        for i in range(n):
            once(i)

    def check_flat(self, once):
        self.cycles(once, WARMUP)
        fds0, rss0 = measure()
        self.cycles(once, CYCLES)
        fds1, rss1 = measure()
        print("\n[%s: %d cycles: fds %d -> %d, RSS %d -> %d KiB]" % (
            self._testMethodName, CYCLES, fds0, fds1, rss0, rss1), flush=True)
        self.assertEqual(fds1, fds0, "file descriptors grew over %d cycles" % CYCLES)
        self.assertLess(rss1 - rss0, RSS_SLACK_KIB,
                        "RSS grew by %d KiB over %d cycles" % (rss1 - rss0, CYCLES))

    def test_sandbox_cycles(self):
        def once(i):
            with hl.Sandbox(guest_path()) as sb:
                sb.register("HostEcho", lambda s: s, params=[str], ret=str)
                assert sb.call("CallHostEcho", "c%d" % i) == "c%d" % i
        self.check_flat(once)

    def test_dropped_without_close(self):
        def once(i):
            sb = hl.Sandbox(guest_path(), stdout=lambda b: None)
            assert sb.call("EchoI32", i) == i
            del sb  # __del__ frees it (no reference cycle keeps it alive)
        self.check_flat(once)

    def test_snapshot_clones(self):
        with hl.Sandbox(guest_path()) as sb:
            snap = sb.snapshot()

        def once(i):
            with hl.Sandbox.from_snapshot(snap) as c:
                assert c.call("AddToStatic", 1) == 1
        try:
            self.check_flat(once)
        finally:
            snap.close()

    def test_errors_do_not_leak(self):
        def once(i):
            with hl.Sandbox(guest_path()) as sb:
                try:
                    sb.call("GuestAbortWithCode", 3)
                except hl.GuestAborted:
                    pass
        self.check_flat(once)


@requires_js
class TestJSLeaks(unittest.TestCase):
    def test_js_cycles(self):
        n = max(10, CYCLES // 20)

        def once(i):
            with hl.JSSandbox() as js:
                js.load_module("m", "export function handler(e) { return e + 1; }")
                assert js.call("m", "handler", i) == i + 1
        for i in range(max(5, n // 10)):
            once(i)
        fds0, rss0 = measure()
        for i in range(n):
            once(i)
        fds1, rss1 = measure()
        print("\n[%d JS cycles: fds %d -> %d, RSS %d -> %d KiB]" % (
            n, fds0, fds1, rss0, rss1), flush=True)
        self.assertEqual(fds1, fds0)
        self.assertLess(rss1 - rss0, RSS_SLACK_KIB * 2)


if __name__ == "__main__":
    unittest.main()
