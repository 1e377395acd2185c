#!/usr/bin/env python3
"""hello.py: a guest function, a host function, a snapshot and a JS handler, from Python.
  PYTHONPATH=bindings/python python3 examples/python/hello.py [build/guests/simpleguest.elf]
"""
import sys

import hyperlight as hl


def main() -> int:
    if not hl.kvm_available():
        print("no KVM here:", hl.kvm_unavailable_reason())
        return 0
    guest = sys.argv[1] if len(sys.argv) > 1 else "build/guests/simpleguest.elf"
    with hl.Sandbox(guest, time_limit_ms=1000, stdout=sys.stdout) as sb:
        @sb.register("HostAdd")
        def host_add(a: hl.I32, b: hl.I32) -> hl.I32:  # the guest calls this
            return a + b

        print("CallHostAdd(2, 40) =", sb.call("CallHostAdd", 2, 40))
        sb.call("PrintOutput", "hello from the guest\n")
        clean = sb.snapshot()
        try:
            sb.call("GuestAbortWithMessage", 3, "out of cheese")
        except hl.GuestAborted as e:
            print("aborted with code", e.abort_code, "-", e.detail)
        sb.restore(clean)  # the sandbox is usable again
        print("Echo:", sb.call("Echo", "back again"))
    if hl.js_available():
        with hl.JSSandbox(reset_after_call=True, functions={"greet": lambda n: "hi " + n}) as js:
            js.load_module("h.js", "export function handler(e) { return host.greet(e.name); }")
            print("JS:", js.call("h.js", "handler", {"name": "world"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
