# fuzz.mk: clang libFuzzer targets for every decoder of guest- or user-supplied bytes (tests/fuzz/):
# wire (common/wire.c), bstack (src/bstack.c), elf (src/elf.c), snapshot (hl_snapshot_load), args
# (cli/args.c), js (JavaScript sandboxes: js/host with the JS guest, and its decoder of the
# guest's error replies; without /dev/kvm, hl_js_new's checks), gdb (src/gdb_proto.c: what a
# debugger sends a gdb stub) and doorbell (src/doorbell.c: what a hot guest writes to its doorbell
# while the host looks). Built with clang, ASan and UBSan in build-fuzz/, apart from build*/;
# js also embeds the JS guest image that `make` builds in $(B)/js/.
#   make fuzz                  builds them and runs each for FUZZ_SECONDS (default 60) on a scratch
#                              copy of tests/fuzz/corpus/<target>/ (the repository is not touched)
#   make fuzz FUZZ_SECONDS=N   N seconds each;  make fuzz-smoke: 10 s each (CI)
#   make fuzz-run-elf          one target;  make fuzz-build: only build
#   build-fuzz/fuzz_elf FILE...          replays inputs (a crash, a corpus) without fuzzing
#   make fuzz-seeds            rewrites the wire, bstack and args seeds (tests/fuzz/gen_seeds.c)
#   make B=build-vm FUZZ_B=build-vm/fuzz HL_EXTRA_CFLAGS=-DX86_TYPE_TSS64_LOADED=9 fuzz-build
#                              builds them for the emulated machine of make vm-test (mk/vmtest.mk)
# A failure prints the report and stack trace; the input is in build-fuzz/artifacts/<target>/
# and the whole log in build-fuzz/logs/<target>.log.
# libFuzzer's runtime comes with clang's compiler-rt (Debian: libclang-rt-<major>-dev). When a
# trial link shows it missing, `make fuzz` installs that package with apt-get (needs root, as in
# CI) and fails with the command to run when it cannot.
FUZZ_B := build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := wire bstack elf snapshot args js gdb doorbell
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 $(WARN) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -D_GNU_SOURCE \
               -DHL_BUILDING_LIBRARY -Iinclude -iquote src -iquote common -iquote cli \
               -iquote tests/fuzz $(HL_EXTRA_CFLAGS)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(LIB_SRC) cli/args.c)
FUZZ_PROGS := $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
FUZZ_RUNS := $(FUZZ_TARGETS:%=fuzz-run-%)
FUZZ_RT_OK := $(FUZZ_B)/.libfuzzer-ok
FUZZ_RT_PKG = libclang-rt-$(firstword $(subst ., ,$(shell $(FUZZ_CC) -dumpversion)))-dev
# Per-target options: bstack inputs fill its 16 KiB guest memory; snapshot files are ~260 KiB; gdb
# inputs reach past the largest packet (HL_GDB_PACKET_MAX, 16 KiB).
FUZZ_OPTS_bstack := -max_len=16400
FUZZ_OPTS_snapshot := -max_len=400000
FUZZ_OPTS_gdb := -max_len=16500
# js links libhyperlight_js compiled the same way, and the JS guest image (or the reason it is
# missing) from the ordinary build, assembled as mk/js.mk does.
FUZZ_JS_OBJ := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(JS_HOST_SRC)) $(FUZZ_B)/obj/js/host/js_image.o
$(patsubst %.c,$(FUZZ_B)/obj/%.o,$(JS_HOST_SRC) tests/fuzz/fuzz_js.c): FUZZ_CFLAGS += -iquote js

$(FUZZ_RT_OK):
	@mkdir -p $(@D)
	$(Q)probe='int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }'; \
	if ! echo "$$probe" | $(FUZZ_CC) -fsanitize=fuzzer -x c - -o $(FUZZ_B)/.probe 2>/dev/null; then \
	    echo "fuzz: $(FUZZ_CC) has no libFuzzer runtime; installing $(FUZZ_RT_PKG)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    { apt-get install -y $(FUZZ_RT_PKG) || { apt-get update && apt-get install -y $(FUZZ_RT_PKG); }; } && \
	    echo "$$probe" | $(FUZZ_CC) -fsanitize=fuzzer -x c - -o $(FUZZ_B)/.probe || \
	    { echo "fuzz: run 'apt-get install $(FUZZ_RT_PKG)' as root" >&2; exit 1; }; \
	fi; rm -f $(FUZZ_B)/.probe; touch $@

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(call say,CC-FUZZ,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_B)/obj/js/host/js_image.o: js/host/js_image.S $(JS_IMAGE) $(JS_IMAGE_MISSING)
	@mkdir -p $(@D)
	@$(call say,AS-FUZZ,$<)
	$(Q)$(FUZZ_CC) -c -DHLJS_IMAGE='"$(JS_IMAGE)"' -DHLJS_MISSING='"$(JS_IMAGE_MISSING)"' $< -o $@

$(FUZZ_B)/libhl_fuzz.a: $(FUZZ_LIB_OBJ)
	@$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_B)/libhl_fuzz.a | $(FUZZ_RT_OK)
	@$(call say,LD-FUZZ,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(HOST_LDLIBS) -lm

$(FUZZ_B)/fuzz_js: $(FUZZ_B)/obj/tests/fuzz/fuzz_js.o $(FUZZ_JS_OBJ) $(FUZZ_B)/libhl_fuzz.a \
                   | $(FUZZ_RT_OK)
	@$(call say,LD-FUZZ,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(HOST_LDLIBS) -lm

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-seeds fuzz-clean $(FUZZ_RUNS)
fuzz-build: $(FUZZ_PROGS)
fuzz: $(FUZZ_RUNS)
fuzz-smoke: FUZZ_SECONDS = 10
fuzz-smoke: $(FUZZ_RUNS)

# Prints libFuzzer's closing line (cov: edges, ft: features, corp: units/bytes, exec/s).
$(FUZZ_RUNS): fuzz-run-%: $(FUZZ_B)/fuzz_%
	@rm -rf $(FUZZ_B)/run/$* && mkdir -p $(FUZZ_B)/run/$* $(FUZZ_B)/artifacts/$* $(FUZZ_B)/logs
	@cp -r tests/fuzz/corpus/$* $(FUZZ_B)/run/$*/corpus
	@printf '  %-9s %s\n' FUZZ "$* for $(FUZZ_SECONDS) s"
	@if $< -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_B)/artifacts/$*/ $(FUZZ_OPTS_$*) $(FUZZ_B)/run/$*/corpus \
	        > $(FUZZ_B)/logs/$*.log 2>&1; then \
	    printf '  %-9s %s: clean, %s\n' OK $* \
	        "$$(grep -E '^#[0-9]+[[:space:]]+DONE' $(FUZZ_B)/logs/$*.log | tail -n 1 | tr -s ' \t' ' ')"; \
	else \
	    tail -n 80 $(FUZZ_B)/logs/$*.log; \
	    echo "fuzz: $* FAILED; input in $(FUZZ_B)/artifacts/$*/, log $(FUZZ_B)/logs/$*.log" >&2; \
	    exit 1; \
	fi

fuzz-seeds: $(FUZZ_B)/gen_seeds
	mkdir -p tests/fuzz/corpus/wire tests/fuzz/corpus/bstack tests/fuzz/corpus/args
	$(FUZZ_B)/gen_seeds tests/fuzz/corpus

$(FUZZ_B)/gen_seeds: tests/fuzz/gen_seeds.c common/wire.c
	@mkdir -p $(@D)
	@$(call say,CC,$@)
	$(Q)$(FUZZ_CC) -std=c11 $(WARN) -O1 -g -Iinclude -iquote common -o $@ $^

fuzz-clean:
	rm -rf $(FUZZ_B)

-include $(shell find $(FUZZ_B) -name '*.d' -type f 2>/dev/null)
