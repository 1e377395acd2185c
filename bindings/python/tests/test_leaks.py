"""Create/call/destroy cycles keep file descriptors and RSS flat. HL_PY_LEAK_CYCLES sets the
number of cycles (10,000 by default, as in make test; make vm-test gives 200).

What the bounds catch: a sandbox that is not freed keeps its VM's 2 file descriptors and about
2 MiB of RSS (20 live test-guest sandboxes: +40 MiB, measured in make vm-test's machine), so a
leak of each one fails the exact fd check at the first cycle and the RSS bound within 5 cycles.
RSS_SLACK_KIB is the allocator's noise (at most ~0.6 MiB seen over 200 cycles); over 10,000
cycles it is also below 1 KiB a cycle. Python objects that outlive their sandbox are caught
directly: every dropped sandbox must be gone at its `del` (weakref), before any gc.collect()."""
import gc
import os
import unittest
import weakref

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
        problems = []
        if fds1 != fds0:
            problems.append("file descriptors %d -> %d" % (fds0, fds1))
        if rss1 - rss0 >= RSS_SLACK_KIB:
            problems.append("RSS grew by %d KiB (bound %d)" % (rss1 - rss0, RSS_SLACK_KIB))
        self.assertFalse(problems, "over %d cycles: %s" % (CYCLES, "; ".join(problems)))

    def test_sandbox_cycles(self):
        def once(i):
            with hl.Sandbox(guest_path()) as sb:
                sb.register("HostEcho", lambda s: s, params=[str], ret=str)
                assert sb.call("CallHostEcho", "c%d" % i) == "c%d" % i
        self.check_flat(once)

    def test_dropped_without_close(self):
        def once(i):
            sb = hl.Sandbox(guest_path(), stdout=lambda b: None,
                            functions={"HostEcho": (lambda s: s, [str], str)})
            assert sb.call("CallHostEcho", "d%d" % i) == "d%d" % i
            ref = weakref.ref(sb)
            del sb  # __del__ frees it: no reference cycle may keep it alive until a gc
            assert ref() is None, "sandbox %d outlived its del" % i
        self.check_flat(once)

    def test_closed_from_its_own_callbacks(self):
        def once(i):
            box = []

            def close_it(s: str) -> str:
                box[0].close()
                return s
            sb = hl.Sandbox(guest_path(), functions={"HostEcho": close_it})
            box.append(sb)
            try:
                sb.call("CallHostEcho", "c%d" % i)
                raise AssertionError("the call was not cancelled")
            except hl.Cancelled:
                pass
            assert sb.closed
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

    def test_js_closed_from_its_own_host_function(self):
        n = max(10, CYCLES // 20)

        def once(i):
            box = []

            def bye():
                box[0].close()
            with hl.JSSandbox(functions={"bye": bye}) as js:
                box.append(js)
                js.load_module("m", "export function handler(e) { host.bye(); return e; }")
                try:
                    js.call("m", "handler", i)
                    raise AssertionError("the call was not cancelled")
                except hl.Cancelled:
                    pass
                assert js.closed
        for i in range(max(5, n // 10)):
            once(i)
        fds0, rss0 = measure()
        for i in range(n):
            once(i)
        fds1, rss1 = measure()
        print("\n[%d JS sandboxes closed by their host function: fds %d -> %d, RSS %d -> %d KiB]"
              % (n, fds0, fds1, rss0, rss1), flush=True)
        self.assertEqual(fds1, fds0)
        self.assertLess(rss1 - rss0, RSS_SLACK_KIB * 2)


if __name__ == "__main__":
    unittest.main()
