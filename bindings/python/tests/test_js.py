"""JSSandbox in real VMs: modules, JSON and binary events, host functions and their exceptions,
errors with their positions, reset_after_call, snapshots and files, limits, interrupts, console."""
import os
import tempfile
import threading
import time
import unittest

import hyperlight as hl

from _util import requires_js

HANDLER = """
let count = 0;
export function handler(e) { count++; return { got: e, count }; }
export function bytes(e) { return e.map((b) => b ^ 0xff); }
export function nothing() { }
export async function later(e) { return await Promise.resolve(e * 2); }
export function fail(e) {
  throw new TypeError("bad " + e);
}
export function spin() { for (;;) {} }
"""


@requires_js
class TestJS(unittest.TestCase):
    def setUp(self):
        self.js = hl.JSSandbox()
        self.addCleanup(self.js.close)
        self.js.load_module("h.js", HANDLER)

    def test_json_events_both_ways(self):
        for ev in [None, True, 1, -2.5, "s\u00e9", [1, [2]], {"a": {"b": None}}]:
            with self.subTest(ev=ev):
                self.assertEqual(self.js.call("h.js", "handler", ev)["got"], ev)
        self.assertEqual(self.js.call("h.js", "later", 21), 42)
        self.assertIsNone(self.js.call("h.js", "nothing"))
        self.assertEqual(self.js.call(event=1)["got"], 1)  # defaults: last module, "handler"
        self.assertEqual(self.js.eval("1 + 2"), 3)

    def test_bytes(self):
        self.assertEqual(self.js.call("h.js", "bytes", b"\x00\x0f\xff"), b"\xff\xf0\x00")
        self.assertEqual(self.js.call("h.js", "bytes", b""), b"")

    def test_js_error_fields(self):
        with self.assertRaises(hl.JSError) as cm:
            self.js.call("h.js", "fail", "x")
        e = cm.exception
        self.assertEqual(e.code, -13)
        self.assertEqual(e.js_name, "TypeError")
        self.assertEqual(e.message, "bad x")
        self.assertEqual(e.file, "h.js")
        self.assertEqual(e.line, 8)  # HANDLER starts with a newline
        self.assertGreater(e.column, 0)
        self.assertIn("fail", e.stack)
        self.assertIn("TypeError: bad x", str(e))
        self.assertEqual(self.js.call("h.js", "handler", 0)["got"], 0)  # still usable

    def test_syntax_error(self):
        with hl.JSSandbox() as js:
            with self.assertRaises(hl.JSError) as cm:
                js.load_module("bad.js", "export function f( {\n")
            self.assertEqual(cm.exception.js_name, "SyntaxError")
            self.assertEqual(cm.exception.file, "bad.js")
            self.assertGreaterEqual(cm.exception.line, 1)

    def test_state_and_reset_after_call(self):
        self.assertEqual(self.js.call("h.js", "handler", 0)["count"], 1)
        self.assertEqual(self.js.call("h.js", "handler", 0)["count"], 2)
        with hl.JSSandbox(reset_after_call=True) as js:
            js.load_module("h.js", HANDLER)
            for _ in range(3):
                self.assertEqual(js.call("h.js", "handler", 0)["count"], 1)
            with self.assertRaises(hl.JSError):
                js.call("h.js", "fail", 1)
            self.assertEqual(js.call("h.js", "handler", 0)["count"], 1)

    def test_snapshots_and_files(self):
        self.js.call("h.js", "handler", 0)
        with self.js.snapshot() as snap:
            self.js.call("h.js", "handler", 0)
            self.js.restore(snap)
            self.assertEqual(self.js.call("h.js", "handler", 0)["count"], 2)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "js.hls")
                snap.save(path)
                with hl.Snapshot.load(path) as loaded, hl.JSSandbox.from_snapshot(loaded) as c:
                    self.assertEqual(c.call("h.js", "handler", 0)["count"], 2)
            with hl.JSSandbox.from_snapshot(snap) as c:
                self.assertEqual(c.call(event=5)["got"], 5)

    def test_time_limit_and_restore(self):
        with hl.JSSandbox(time_limit_ms=300) as js:
            js.load_module("h.js", HANDLER)
            snap = js.snapshot()
            with self.assertRaises(hl.Timeout):
                js.call("h.js", "spin")
            js.restore(snap)
            self.assertEqual(js.call("h.js", "handler", 1)["got"], 1)
            snap.close()

    def test_interrupt_from_thread(self):
        with hl.JSSandbox(time_limit_ms=0) as js:
            js.load_module("h.js", HANDLER)
            snap = js.snapshot()
            res = {}

            def run():
                try:
                    js.call("h.js", "spin")
                except BaseException as e:  # noqa: B036
                    res["e"] = e
            t = threading.Thread(target=run)
            t.start()
            deadline = time.monotonic() + 60
            while not js.interrupt():
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.01)
            t.join(60)
            self.assertIsInstance(res.get("e"), hl.Cancelled)
            js.restore(snap)
            self.assertEqual(js.call("h.js", "handler", 2)["got"], 2)
            snap.close()


@requires_js
class TestJSHost(unittest.TestCase):
    def test_host_functions(self):
        seen = []

        def add(a, b):
            return a + b

        def blob(meta, data):
            seen.append((meta, data))
            return data[::-1]

        def boom(x):
            raise ValueError("no %s" % x)

        with hl.JSSandbox(functions={"add": add, "blob": blob, "boom": boom}) as js:
            @js.register("obj")
            def obj(o):
                return {"keys": sorted(o), "nested": [1, {"b": True}]}

            js.load_module("m.js", """
export function handler(e) {
  const r = host.blob({ n: 1, inner: { raw: new Uint8Array([9]) } }, new Uint8Array([1, 2, 3]));
  let caught = "";
  try { host.boom("cheese"); } catch (err) { caught = err.message; }
  return { sum: host.add(e, 2), back: Array.from(r), obj: host.obj({ z: 1, a: 2 }), caught };
}
export function uncaught() { return host.boom("way out"); }
""")
            r = js.call("m.js", "handler", 40)
            self.assertEqual(r["sum"], 42)
            self.assertEqual(r["back"], [3, 2, 1])
            self.assertEqual(r["obj"], {"keys": ["a", "z"], "nested": [1, {"b": True}]})
            self.assertIn("ValueError: no cheese", r["caught"])
            self.assertEqual(seen, [({"n": 1, "inner": {"raw": b"\x09"}}, b"\x01\x02\x03")])
            with self.assertRaises(hl.JSError) as cm:
                js.call("m.js", "uncaught")
            self.assertIn("no way out", cm.exception.message)
            self.assertIsInstance(cm.exception.__cause__, ValueError)

    def test_console(self):
        out, err = [], []
        with hl.JSSandbox(stdout=out.append, stderr=err.append) as js:
            js.load_module("c.js", "export function handler() { console.log('hi', 1);"
                                   " console.error('bad'); }")
            js.call()
        self.assertEqual(b"".join(out), b"hi 1\n")
        self.assertEqual(b"".join(err), b"bad\n")

    def test_callback_exception_keeps_the_result(self):
        def bad(data):
            raise RuntimeError("console broke")
        with hl.JSSandbox(stdout=bad) as js:
            js.load_module("c.js", "console.log('module body');\n"
                                   "export function handler(e) { console.log(e); return { e }; }")
            with self.assertRaises(RuntimeError) as cm:
                js.snapshot()  # runs the module body first: it logs
            snap = cm.exception.result
            self.assertIsInstance(snap, hl.Snapshot)
            with self.assertRaises(RuntimeError) as cm:
                js.call(event=5)
            self.assertEqual(cm.exception.result, {"e": 5})
            self.assertEqual(js.eval("6 * 7"), 42)  # nothing pending
            js.restore(snap)
            snap.close()

    def test_close_from_host_function(self):
        for reset in (False, True):
            with self.subTest(reset_after_call=reset):
                box, seen = [], []

                def bye():
                    box[0].close()
                    seen.append(box[0].closed)
                    return "not used"
                js = hl.JSSandbox(reset_after_call=reset, functions={"bye": bye})
                box.append(js)
                js.load_module("b.js", "export function handler() { host.bye(); return 1; }\n"
                                       "export function fine() { return 2; }")
                self.assertEqual(js.call("b.js", "fine"), 2)
                with self.assertRaises(hl.Cancelled) as cm:
                    js.call("b.js", "handler")
                self.assertIn("closed by one of its callbacks", cm.exception.detail)
                self.assertEqual(seen, [True])
                self.assertTrue(js.closed)
                self.assertFalse(js.interrupt())
                with self.assertRaises(hl.Closed):
                    js.call("b.js", "fine")
                js.close()

    def test_close_from_console(self):
        box = []

        def close_it(data):
            box[0].close()
        for kw in ({"stdout": close_it}, {"stderr": close_it}):
            with self.subTest(kw=list(kw)):
                box[:] = [hl.JSSandbox(**kw)]
                box[0].load_module("c.js", "export function handler() { console.log('x');"
                                           " console.error('y'); return 1; }")
                with self.assertRaises(hl.Cancelled):
                    box[0].call()
                self.assertTrue(box[0].closed)
                with self.assertRaises(hl.Closed):
                    box[0].eval("1")

    def test_config_errors(self):
        with self.assertRaises(hl.ConfigError):
            hl.JSSandbox(heap_size=1024)
        with self.assertRaises(hl.ConfigError):
            hl.JSSandbox(hot=True, hot_spin_us=10**7)

    def test_hot(self):
        seen = []
        with hl.JSSandbox(hot=True, functions={"twice": lambda x: 2 * x},
                          stdout=seen.append) as js:
            js.load_module("h.js", HANDLER + "export function viahost(e) {"
                           " console.log('e=' + e); return host.twice(e); }\n")
            self.assertEqual(js.call("h.js", "handler", 3)["got"], 3)
            self.assertEqual(js.call("h.js", "viahost", 21), 42)
            self.assertIn(b"e=21", b"".join(seen))


if __name__ == "__main__":
    unittest.main()
