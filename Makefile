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

# Guest code: static-PIE over newlib (built once into build/newlib by mk/newlib.mk, whatever B
# is), no red zone (our interrupt-free design keeps the rule anyway), SSE on for f32/f64. Hosted C:
# the compiler may call memcpy and friends, and newlib has them.
IS_CLANG := $(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1))
ifneq ($(IS_CLANG),)
GCC_INCLUDE := $(shell $(CC) -print-resource-dir)/include
else
GCC_INCLUDE := $(shell $(CC) -print-file-name=include)
endif
NEWLIB := build/newlib
# Code generation of everything that runs in a guest: the runtime, newlib, and hl-cc's programs.
GUEST_CODEGEN := -O2 -g -fPIE -mno-red-zone -fno-stack-protector -fstack-clash-protection \
                 -fno-asynchronous-unwind-tables -fno-plt -fcf-protection=none
# What the runtime gives newlib's headers that newlib cannot know for a bare target: the POSIX
# clocks of guest/clock.c (clock_gettime with CLOCK_MONOTONIC).
GUEST_FEATURES := -D_POSIX_TIMERS=1 -D_POSIX_MONOTONIC_CLOCK=200112L
GUEST_CFLAGS := -std=gnu11 $(WARN) $(GUEST_CODEGEN) $(GUEST_FEATURES) -nostdinc -isystem $(GCC_INCLUDE) \
                -isystem $(NEWLIB)/include -Iguest/include -Iinclude -Icommon
GUEST_LDFLAGS := -nostdlib -static-pie -Wl,--no-dynamic-linker -Wl,-z,noexecstack \
                 -Wl,-z,separate-code -Wl,--build-id=none

include mk/sources.mk
include mk/newlib.mk
include mk/rules.mk
include mk/js.mk
include mk/bench.mk
include mk/fuzz.mk
include mk/soak.mk
include mk/examples.mk
include mk/vmtest.mk
include mk/python.mk
