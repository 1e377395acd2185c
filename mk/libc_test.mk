# libc_test.mk: the hosted unit test of the guest libc. Each guest/libc/*.c is rebuilt
# freestanding against the guest headers with every public symbol renamed hlt_* (libc_rename.h),
# then linked with glibc, the harness and tests/unit/libc_test.c, which compares it with glibc.
LIBC_TEST := $(B)/tests/unit_libc
LIBC_TEST_SRC := $(wildcard guest/libc/*.c) tests/unit/libc_probe.c
LIBC_TEST_OBJ := $(LIBC_TEST_SRC:%.c=$(B)/libc_test/%.o)
LIBC_TEST_SANITIZE := $(filter -fsanitize=% -fno-omit-frame-pointer -fno-sanitize-recover=%,\
                      $(HOST_CFLAGS))
LIBC_TEST_CFLAGS := -std=c11 $(WARN) -O2 -g -ffreestanding -fno-builtin -nostdinc \
                    -isystem $(GCC_INCLUDE) -Iguest/include -Iinclude -Icommon -fPIC \
                    -include tests/unit/libc_rename.h \
                    $(LIBC_TEST_SANITIZE)

$(B)/libc_test/%.o: %.c tests/unit/libc_rename.h
	@mkdir -p $(@D)
	@$(call say,CC,$<)
	$(Q)$(CC) $(LIBC_TEST_CFLAGS) -MMD -MP -c $< -o $@

# Refuses to link when a libc symbol escaped libc_rename.h: it would silently replace glibc's.
$(LIBC_TEST): $(B)/host/tests/unit/libc_test.o $(HARNESS_OBJ) $(LIBC_TEST_OBJ)
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)bad=$$(nm -g --defined-only $(LIBC_TEST_OBJ) | \
	        awk 'NF == 3 && $$3 !~ /^(hlt_|hlg__|probe_|__odr_asan|__asan|__ubsan)/ { print $$3 }'); \
	    if [ -n "$$bad" ]; then echo "libc_rename.h misses:" $$bad >&2; exit 1; fi
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lm

UNIT_TESTS += $(LIBC_TEST)
