# hyperlight-c: one non-recursive GNU Makefile. `make help` lists the targets.
.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
AR ?= ar
PREFIX ?= /usr/local
SANITIZE ?= 0
B := build$(if $(filter 1,$(SANITIZE)),-san)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith
OPT ?= -O2 -g
HOST_CFLAGS := -std=c11 $(WARN) $(OPT) -fPIC -fvisibility=hidden -D_GNU_SOURCE -iquote tests/harness \
               -DHL_BUILDING_LIBRARY -Iinclude -iquote src -iquote common $(HL_EXTRA_CFLAGS)
HOST_LDLIBS := -lpthread -lrt
ifeq ($(SANITIZE),1)
HOST_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
HOST_LDFLAGS += -fsanitize=address,undefined
endif

# Guest code: freestanding, static-PIE, no red zone (exceptions push on the same stack at CPL0
# only, but our own interrupt-free design keeps the rule anyway), SSE on for f32/f64.
IS_CLANG := $(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1))
ifneq ($(IS_CLANG),)
GCC_INCLUDE := $(shell $(CC) -print-resource-dir)/include
NO_LOOP_TO_CALLS := -fno-builtin
else
GCC_INCLUDE := $(shell $(CC) -print-file-name=include)
NO_LOOP_TO_CALLS := -fno-tree-loop-distribute-patterns
endif
GUEST_CFLAGS := -std=c11 $(WARN) -O2 -g -ffreestanding -nostdinc -isystem $(GCC_INCLUDE) \
                -Iguest/include -Iinclude -Icommon -fPIE -mno-red-zone -fno-stack-protector \
                -fstack-clash-protection -fno-asynchronous-unwind-tables -fno-plt \
                $(NO_LOOP_TO_CALLS) -fcf-protection=none
GUEST_LDFLAGS := -nostdlib -static-pie -Wl,--no-dynamic-linker -Wl,-z,noexecstack \
                 -Wl,-z,separate-code -Wl,--build-id=none

include mk/sources.mk
include mk/libc_test.mk
include mk/rules.mk
include mk/bench.mk
include mk/fuzz.mk
include mk/soak.mk
include mk/vmtest.mk
