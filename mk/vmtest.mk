# vmtest.mk: the KVM integration tests inside an emulated machine, for hosts without /dev/kvm.
#   make vm-test    builds the library and tests into build-vm/ (build-vm-san/ with SANITIZE=1;
#                   one difference: the TSS type of src/x86.h, X86_TYPE_TSS64_LOADED), prepares a VM kit from Debian packages
#                   (tests/vm/kit.sh: qemu-system-x86 and busybox-static installed when missing, a
#                   Debian kernel downloaded and unpacked) and runs every tests/kvm binary inside
#                   QEMU's emulated AMD CPU with SVM, where the kernel's kvm_amd gives a real
#                   /dev/kvm (tests/vm/run.sh), then the examples' host programs (their checks
#                   fail the run). About 10x slower than on a KVM host.
#   make vm-test-build, make vm-test-run: its two halves (.ci/run runs the second in the background
#                   while the host goes on with its own passes).
VM_B := build-vm$(if $(filter 1,$(SANITIZE)),-san)
VM_KIT := build-vm/kit
VM_SECONDS ?= 3000
# The JS scale test makes 1,000 sandboxes from one snapshot on a KVM host; in the emulated machine
# each takes ~0.12 s, so it makes fewer (the same checks on each).
VM_JS_SANDBOXES ?= 250

.PHONY: vm-test vm-test-build vm-test-run
vm-test: vm-test-build
	$(MAKE) vm-test-run

vm-test-build:
	$(MAKE) B=$(VM_B) HL_EXTRA_CFLAGS=-DX86_TYPE_TSS64_LOADED=9 all kvm-tests-build examples
	tests/vm/kit.sh $(VM_KIT)
	@printf '%s\n' '#!/bin/sh' 'cd $(CURDIR) || exit 1' \
	    'export HL_TEST_GUEST_DIR=$(VM_B)/guests HL_TEST_BIN_DIR=$(VM_B)/bin HL_TEST_TIMEOUT=600' \
	    'export TMPDIR=/dev/shm # a tmpfs (the host /tmp comes over 9p, which has no FIFOs)' \
	    'export HL_TEST_JS_SANDBOXES=$(VM_JS_SANDBOXES)' \
	    'tests/run.sh $(VM_B)/tests/kvm_test_*; rc=$$?' \
	    'echo "== the call suites again, with hot sandboxes (HL_TEST_HOT=1; one vCPU: every request parks)"' \
	    'HL_TEST_HOT=1 tests/run.sh $(HOT_VM_SUITES:%=$(VM_B)/tests/kvm_test_%) || rc=1' \
	    'echo "== examples/json: cJSON in a sandbox"' \
	    '$(VM_B)/bin/json_host $(VM_B)/guests/json_guest.elf || rc=1' \
	    'echo "== examples/js: a JS sandbox host"' \
	    '$(VM_B)/bin/js_host examples/js/handler.js || rc=1' \
	    'echo "== bindings/python: the Python tests against $(VM_B)/lib (200 leak cycles, not 10,000)"' \
	    'HYPERLIGHT_LIB=$(VM_B)/lib/libhyperlight.so HYPERLIGHT_JS_LIB=$(VM_B)/lib/libhyperlight_js.so \
	     HL_PY_LEAK_CYCLES=200 python3 bindings/python/tests/run.py || rc=1' 'exit $$rc' > $(VM_B)/vm-test.sh

vm-test-run:
	@test -s $(VM_B)/vm-test.sh || { echo "vm-test-run: run make vm-test-build first" >&2; exit 1; }
	tests/vm/run.sh $(VM_KIT) $(VM_SECONDS) $(VM_B)/vm-test.sh
