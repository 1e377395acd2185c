# js.mk: JavaScript sandboxes. The JS guest (js/guest/ over QuickJS, newlib and the runtime) is
# built into $(B)/guests/js.elf and, stripped, into libhyperlight_js (js/host/, header js.h).
#
# QuickJS is Debian 13's (trixie) quickjs source package at a pinned version, unpacked once into
# build/deps by mk/apt-source.sh with a private apt configuration derived from the system's own
# (the system's apt configuration is not changed; apt verifies the source). When it cannot be
# had, the reason goes to $(QJS_MISSING), everything else builds, libhyperlight_js says why it
# has no guest (hl_js_guest_missing) and the JS tests skip with that reason; `make quickjs`
# tries again. QuickJS is compiled unmodified; its configuration (QJS_CONFIG) says what a guest
# lacks: newlib declares pthreads only with _POSIX_THREADS (js/guest/js_port.c has the mutexes
# of one thread), and its struct tm has no tm_gmtoff unless asked, so QuickJS's localtime_r is
# js_port.c's (UTC, with tm_gmtoff).
QJS_VERSION := 2025.04.26-1
QJS_SUITE := trixie
QJS_SRC := build/deps/quickjs-$(QJS_VERSION)
QJS_MISSING := build/deps/quickjs-$(QJS_VERSION).missing
QJS_FETCH_LOG := build/deps/quickjs-fetch.log
QJS_HOW := make quickjs (or: mk/apt-source.sh quickjs $(QJS_VERSION) build/deps $(QJS_SUITE))

# Fetched while the makefile is read (once: afterwards the unpacked tree or the reason is there),
# so that this same make knows which JS guest to build.
QJS_NO_FETCH_GOALS := clean help format format-check quickjs
ifeq ($(filter $(QJS_NO_FETCH_GOALS),$(MAKECMDGOALS)),)
ifeq ($(wildcard $(QJS_SRC)/.unpacked)$(wildcard $(QJS_MISSING)),)
$(info   APT-SRC   quickjs $(QJS_VERSION) ($(QJS_SUITE)), once)
QJS_FETCHED := $(shell mkdir -p build/deps && mk/apt-source.sh quickjs $(QJS_VERSION) build/deps \
                 $(QJS_SUITE) > $(QJS_FETCH_LOG) 2>&1 || { \
                 echo "QuickJS $(QJS_VERSION) source could not be had ($$(tail -n 1 $(QJS_FETCH_LOG)));" \
                 "get it with: $(QJS_HOW)" > $(QJS_MISSING); })
endif
endif

.PHONY: quickjs
quickjs:
	rm -f $(QJS_MISSING)
	mk/apt-source.sh quickjs $(QJS_VERSION) build/deps $(QJS_SUITE)

JS_HOST_SRC := $(wildcard js/host/*.c)
JS_HOST_OBJ := $(JS_HOST_SRC:%.c=$(B)/host/%.o) $(B)/host/js/host/js_image.o $(B)/host/common/text.o
$(JS_HOST_SRC:%.c=$(B)/host/%.o): HOST_CFLAGS += -iquote js
JS_LIBS := $(B)/lib/libhyperlight_js.a $(B)/lib/libhyperlight_js.so
JS_SONAME := libhyperlight_js.so.$(call hl_version_part,MAJOR)
JS_IMAGE_MISSING := $(B)/js/missing.txt

ifneq ($(wildcard $(QJS_SRC)/.unpacked),)
QJS_NAMES := quickjs libregexp libunicode cutils dtoa
QJS_OBJ := $(QJS_NAMES:%=$(B)/js/qjs/%.o)
QJS_CONFIG := -D_POSIX_THREADS=1 -D__TM_GMTOFF=tm_gmtoff -Dlocaltime_r=hljs_localtime_r \
              -DCONFIG_VERSION='"2025-04-26"'
# QuickJS's own code: the guest's code generation, not our warning flags.
QJS_CFLAGS := $(filter-out $(WARN),$(GUEST_CFLAGS)) $(QJS_CONFIG)
JS_GUEST_SRC := $(wildcard js/guest/*.c)
JS_GUEST_OBJ := $(JS_GUEST_SRC:%.c=$(B)/%.o) $(B)/js/guest/prelude.o
JS_IMAGE := $(B)/js/js-image.elf

$(B)/js/qjs/%.o: $(QJS_SRC)/%.c | $(NEWLIB_BUILT)
	@mkdir -p $(@D)
	@$(call say,CC-QJS,$<)
	$(Q)$(CC) $(QJS_CFLAGS) -MMD -MP -c $< -o $@

$(B)/js/guest/%.o: js/guest/%.c | $(NEWLIB_BUILT)
	@mkdir -p $(@D)
	@$(call say,CC-GUEST,$<)
	$(Q)$(CC) $(GUEST_CFLAGS) $(QJS_CONFIG) -isystem $(QJS_SRC) -iquote js -MMD -MP -c $< -o $@

$(B)/js/guest/prelude.o: js/guest/prelude.S js/guest/prelude.js
	@mkdir -p $(@D)
	@$(call say,AS-GUEST,$<)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/js.elf: $(JS_GUEST_OBJ) $(QJS_OBJ) $(GUEST_DEPS)
	@mkdir -p $(@D)
	@$(call say,HL-CC,$@)
	$(Q)$(HLCC) -o $@ $(JS_GUEST_OBJ) $(QJS_OBJ)

# What the library carries: the loadable bytes only (js.elf keeps its symbols for debuggers).
$(JS_IMAGE): $(B)/guests/js.elf
	@mkdir -p $(@D)
	$(Q)strip -o $@ $<

$(JS_IMAGE_MISSING):
	@mkdir -p $(@D)
	$(Q): > $@
else
JS_IMAGE := $(B)/js/no-image
$(warning JavaScript guest not built: $(file < $(QJS_MISSING)))
$(JS_IMAGE):
	@mkdir -p $(@D)
	$(Q): > $@

$(JS_IMAGE_MISSING): $(QJS_MISSING)
	@mkdir -p $(@D)
	$(Q)cat $(QJS_MISSING) | tr -d '\n' > $@
endif

$(B)/host/js/host/js_image.o: js/host/js_image.S $(JS_IMAGE) $(JS_IMAGE_MISSING)
	@mkdir -p $(@D)
	@$(call say,AS,$<)
	$(Q)$(CC) -c -DHLJS_IMAGE='"$(JS_IMAGE)"' -DHLJS_MISSING='"$(JS_IMAGE_MISSING)"' $< -o $@

$(B)/lib/libhyperlight_js.a: $(JS_HOST_OBJ)
	@mkdir -p $(@D)
	@$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/lib/libhyperlight_js.so: $(JS_HOST_OBJ) $(B)/lib/libhyperlight.so
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(JS_SONAME) $(HOST_LDFLAGS) -o $@ $(JS_HOST_OBJ) \
	    -L$(B)/lib -lhyperlight $(HOST_LDLIBS)

JS_HOST_LIBS := $(B)/lib/libhyperlight_js.a $(B)/lib/libhyperlight.a

$(B)/bin/hl-js: $(B)/host/cli/hl_js.o $(B)/host/cli/args.o $(JS_HOST_LIBS)
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)
$(B)/host/cli/hl_js.o: HOST_CFLAGS += -iquote js

# The JS integration tests (tests/kvm/test_js*.c) link libhyperlight_js too.
$(B)/tests/kvm_test_js%: $(B)/host/tests/kvm/test_js%.o $(HARNESS_OBJ) $(JS_HOST_LIBS)
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

.PHONY: js
js: $(JS_LIBS) $(B)/bin/hl-js
all: js
