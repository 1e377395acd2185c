# rules.mk: how each artefact is built, tested and installed.
# Quiet by default; `make V=1` shows the commands.
ifeq ($(V),1)
Q :=
say = true
else
Q := @
say = printf '  %-9s %s\n' '$(1)' '$(2)'
endif
# The version, read from its one source: include/hyperlight/hyperlight.h.
hl_version_part = $(shell sed -n 's/^\#define HL_VERSION_$(1) \([0-9]*\)$$/\1/p' include/hyperlight/hyperlight.h)
VERSION := $(call hl_version_part,MAJOR).$(call hl_version_part,MINOR).$(call hl_version_part,PATCH)
SONAME := libhyperlight.so.$(call hl_version_part,MAJOR)
LIBS := $(B)/lib/libhyperlight.a $(B)/lib/libhyperlight.so $(B)/lib/libhyperlight_guest.a
HLCC := $(B)/bin/hl-cc

.PHONY: all
all: $(LIBS) $(CLI_PROGS) $(HLCC) $(B)/lib/guest.ld $(TEST_GUESTS) $(EXAMPLE_GUESTS) \
     $(B)/bin/hello_host

# ---- host library ----
$(B)/host/%.o: %.c
	@mkdir -p $(@D)
	@$(call say,CC,$<)
	$(Q)$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(B)/lib/libhyperlight.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	@$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/lib/libhyperlight.so: $(LIB_OBJ)
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

# ---- guest runtime ----
$(B)/guest/%.o: %.c | $(NEWLIB_BUILT)
	@mkdir -p $(@D)
	@$(call say,CC-GUEST,$<)
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(B)/guest/%.o: %.S
	@mkdir -p $(@D)
	@$(call say,AS-GUEST,$<)
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(B)/lib/libhyperlight_guest.a: $(GUEST_OBJ)
	@mkdir -p $(@D)
	@$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/lib/guest.ld: guest/guest.ld
	@mkdir -p $(@D)
	$(Q)cp $< $@

# ---- hl-cc: a script with this build tree's paths (make install writes one with PREFIX's) ----
# $(1): the host API headers' parent, $(2): the runtime's headers, $(3): newlib's headers,
# $(4): libhyperlight_guest.a and guest.ld, $(5): newlib's libc.a and libm.a, $(6): the script.
define hlcc_script
	sed -e 's|@CC@|$(CC)|g' -e 's|@GCC_INCLUDE@|$(GCC_INCLUDE)|g' -e 's|@INCLUDE@|$(1)/include|g' \
	    -e 's|@GUEST_INCLUDE@|$(2)|g' -e 's|@LIBC_INCLUDE@|$(3)|g' -e 's|@LIBDIR@|$(4)|g' \
	    -e 's|@LIBC_DIR@|$(5)|g' -e 's|@CODEGEN@|$(GUEST_CODEGEN) $(GUEST_FEATURES)|g' \
	    -e 's|@LDFLAGS@|$(GUEST_LDFLAGS)|g' -e 's|@VERSION@|$(VERSION)|g' cli/hl-cc.in > $(6) && \
	    chmod +x $(6)
endef

$(HLCC): cli/hl-cc.in Makefile
	@mkdir -p $(@D)
	@$(call say,GEN,$@)
	$(Q)$(call hlcc_script,$(CURDIR),$(CURDIR)/guest/include,$(CURDIR)/$(NEWLIB)/include,$(CURDIR)/$(B)/lib,$(CURDIR)/$(NEWLIB)/lib,$@)

GUEST_DEPS := $(HLCC) $(B)/lib/libhyperlight_guest.a $(B)/lib/guest.ld $(NEWLIB_LIBS)

$(B)/guests/%.elf: tests/guests/%.c $(GUEST_DEPS)
	@mkdir -p $(@D)
	@$(call say,HL-CC,$@)
	$(Q)$(HLCC) -o $@ $<

# The guest the debugger tests step through is built as a developer builds one to debug it.
$(B)/guests/debugguest.elf: tests/guests/debugguest.c $(GUEST_DEPS)
	@mkdir -p $(@D)
	@$(call say,HL-CC,$@)
	$(Q)$(HLCC) -g -O0 -o $@ $<

$(B)/guests/%.elf: tests/guests/raw/%.S
	@mkdir -p $(@D)
	@$(call say,AS-RAW,$@)
	$(Q)$(CC) $(GUEST_LDFLAGS) -o $@ $<

$(B)/guests/hello_guest.elf: examples/hello_guest.c $(GUEST_DEPS)
	@mkdir -p $(@D)
	@$(call say,HL-CC,$@)
	$(Q)$(HLCC) -o $@ $<

# ---- programs ----
$(B)/bin/hl-run: $(B)/host/cli/hl_run.o $(B)/host/cli/args.o $(B)/lib/libhyperlight.a
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

$(B)/bin/hello_host: $(B)/host/examples/hello_host.o $(B)/lib/libhyperlight.a
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

# ---- tests ----
$(B)/tests/unit_%: $(B)/host/tests/unit/%.o $(HARNESS_OBJ) $(B)/lib/libhyperlight.a
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

# -lm: test_libm compares the guest's newlib with this glibc's libm.
$(B)/tests/kvm_%: $(B)/host/tests/kvm/%.o $(HARNESS_OBJ) $(B)/lib/libhyperlight.a
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS) -lm

# Tests find guests and programs of this build (build/ or build-san/) through these.
TEST_ENV := HL_TEST_GUEST_DIR=$(B)/guests HL_TEST_BIN_DIR=$(B)/bin
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect

.PHONY: test unit-test kvm-test kvm-tests-build valgrind check-layers
kvm-tests-build: $(KVM_TESTS)

# The layer table of ARCHITECTURE.md, checked against what each object file uses.
check-layers: $(LIB_OBJ)
	@mk/check_layers.sh ARCHITECTURE.md $(LIB_OBJ)

test: all $(UNIT_TESTS) $(KVM_TESTS) check-layers
	@$(TEST_ENV) tests/run.sh $(UNIT_TESTS) $(KVM_TESTS)
	@echo "== the call suites again, with hot sandboxes (HL_TEST_HOT=1)"
	@$(TEST_ENV) HL_TEST_HOT=1 tests/run.sh $(HOT_TESTS)

unit-test: $(UNIT_TESTS)
	@$(TEST_ENV) tests/run.sh $(UNIT_TESTS)

kvm-test: all $(KVM_TESTS)
	@$(TEST_ENV) tests/run.sh $(KVM_TESTS)

# The integration tests under valgrind memcheck: any error or leak fails the test it happens in.
valgrind: all $(KVM_TESTS)
	@$(TEST_ENV) HL_TEST_TIMEOUT=300 HL_TEST_UNDER_VALGRIND=1 HL_TEST_WRAPPER="$(VALGRIND)" \
	    tests/run.sh $(KVM_TESTS)

# ---- demo ----
.PHONY: demo
demo: $(B)/bin/hello_host $(B)/guests/hello_guest.elf examples
	$(B)/bin/hello_host $(B)/guests/hello_guest.elf World
	$(B)/bin/json_host $(B)/guests/json_guest.elf
	$(B)/bin/js_host examples/js/handler.js

# ---- install ----
.PHONY: install
install: all
	install -d $(DESTDIR)$(PREFIX)/include/hyperlight $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	           $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/hyperlight/include
	install -m 644 include/hyperlight/*.h $(DESTDIR)$(PREFIX)/include/hyperlight/
	cp -R guest/include/. $(DESTDIR)$(PREFIX)/lib/hyperlight/include/
	install -d $(DESTDIR)$(PREFIX)/lib/hyperlight/libc
	cp -R $(NEWLIB)/include $(DESTDIR)$(PREFIX)/lib/hyperlight/libc/
	install -m 644 $(NEWLIB_LIBS) $(DESTDIR)$(PREFIX)/lib/hyperlight/libc/
	install -m 644 $(B)/lib/libhyperlight.a $(B)/lib/libhyperlight_guest.a $(B)/lib/guest.ld \
	           $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/lib/libhyperlight.so $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libhyperlight.so
	install -m 755 $(B)/bin/hl-run $(B)/bin/hl-js $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(B)/lib/libhyperlight_js.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/lib/libhyperlight_js.so $(DESTDIR)$(PREFIX)/lib/$(JS_SONAME)
	ln -sf $(JS_SONAME) $(DESTDIR)$(PREFIX)/lib/libhyperlight_js.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' mk/hyperlight-js.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/hyperlight-js.pc
	$(call hlcc_script,$(PREFIX),$(PREFIX)/lib/hyperlight/include,$(PREFIX)/lib/hyperlight/libc/include,$(PREFIX)/lib,$(PREFIX)/lib/hyperlight/libc,$(DESTDIR)$(PREFIX)/bin/hl-cc)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e "s|@GUEST_CFLAGS@|$$($(DESTDIR)$(PREFIX)/bin/hl-cc --cflags)|" \
	    -e "s|@GUEST_LIBS@|$$($(DESTDIR)$(PREFIX)/bin/hl-cc --libs)|" mk/hyperlight.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/hyperlight.pc

.PHONY: clean format format-check help
clean:
	rm -rf $(B)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Fails (listing the places) when a tracked C file is not as .clang-format would write it.
format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h') && echo "format-check: clean"

help:
	@echo "make            build libraries, hl-run, hl-cc, example and test guests"
	@echo "make demo       build and run the example hosts + guests (hello, cJSON, JavaScript)"
	@echo "make examples   build examples/json: cJSON from Debian's source package, with hl-cc"
	@echo "make quickjs    fetch QuickJS's source package again (after make said it could not)"
	@echo "make test       build and run every test (SANITIZE=1 for ASan+UBSan)"
	@echo "make install    install under PREFIX (default /usr/local)"
	@echo "make install-python  the Python package (bindings/python) under PREFIX, offline"
	@echo "make python-test     only the Python bindings' tests (also part of make test)"
	@echo "make valgrind   the KVM tests under valgrind memcheck"
	@echo "make bench      hl-bench, full run (bench-smoke: a quick pass; bench-chart: the PNG)"
	@echo "make soak       long create/call/restore loops checking fds and RSS stay flat"
	@echo "make fuzz       every fuzz target for FUZZ_SECONDS (default 60) each"
	@echo "make check-layers  the layer table of ARCHITECTURE.md against the objects (in make test)"
	@echo "make format-check  every C file as .clang-format writes it (make format fixes)"
	@echo "make vm-test    the KVM tests inside an emulated machine (hosts without /dev/kvm)"
	@echo "make clean      remove build/"

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
