# sources.mk: which files make up each artefact.
LIB_SRC := $(wildcard src/*.c) $(wildcard common/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/host/%.o)

GUEST_SRC := $(wildcard guest/*.c) $(wildcard common/*.c)
GUEST_ASM := $(wildcard guest/*.S)
GUEST_OBJ := $(GUEST_SRC:%.c=$(B)/guest/%.o) $(GUEST_ASM:%.S=$(B)/guest/%.o)

CLI_PROGS := $(B)/bin/hl-run
HARNESS_OBJ := $(B)/host/tests/harness/harness.o

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit_%,$(wildcard tests/unit/test_*.c))
KVM_TESTS := $(patsubst tests/kvm/%.c,$(B)/tests/kvm_%,$(wildcard tests/kvm/test_*.c))
# The call suites that run a second time with hot sandboxes (HL_TEST_HOT=1, tests/kvm/kvm_common.h);
# make vm-test runs the first HOT_VM_SUITES of them (the emulated machine is slow; lifecycle, mostly
# config checks that hot adds nothing to, and the rest run hot only on a KVM host).
HOT_SUITES := calls host_functions logging faults hostile interrupt lifecycle snapshots isolation \
              libc core_dumps snapshot_files
HOT_VM_SUITES := calls host_functions logging faults hostile interrupt
HOT_TESTS := $(HOT_SUITES:%=$(B)/tests/kvm_test_%)
TEST_GUESTS := $(patsubst tests/guests/%.c,$(B)/guests/%.elf,$(wildcard tests/guests/*.c))
# Raw guests: a few instructions of assembly, no runtime (they read the state a vCPU starts with).
RAW_GUESTS := $(patsubst tests/guests/raw/%.S,$(B)/guests/%.elf,$(wildcard tests/guests/raw/*.S))
TEST_GUESTS += $(RAW_GUESTS)
EXAMPLE_GUESTS := $(B)/guests/hello_guest.elf
