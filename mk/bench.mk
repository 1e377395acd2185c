# bench.mk: hl-bench (docs/PERFORMANCE.md), its guest and the static peer binary.
#   make                 builds $(B)/bin/hl-bench, $(B)/bin/peer_echo, $(B)/guests/bench_guest.elf
#   make bench           full run: the table on stdout, JSON in $(B)/bench.json
#   make bench-smoke     quick pass (< 20 s) that fails only if a measurement errors (for CI)
#   make bench-chart     docs/perf.png from $(B)/bench.json (python3, standard library only)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_OBJ := $(patsubst bench/%.c,$(B)/host/bench/%.o,\
               $(filter-out bench/bench_guest.c bench/peer_echo.c,$(BENCH_SRC)))
BENCH_PROGS := $(B)/bin/hl-bench $(B)/bin/peer_echo $(B)/guests/bench_guest.elf
BENCH_RUN := $(B)/bin/hl-bench --guest $(B)/guests/bench_guest.elf --peer $(B)/bin/peer_echo

all: $(BENCH_PROGS)

# The JS rows' floor: the same QuickJS compiled natively into hl-bench (when its source is there).
ifneq ($(QJS_OBJ),)
BENCH_QJS_OBJ := $(QJS_NAMES:%=$(B)/host/qjs/%.o)
$(B)/host/qjs/%.o: $(QJS_SRC)/%.c
	@mkdir -p $(@D)
	@$(call say,CC-QJS,$<)
	$(Q)$(CC) -O2 -g -D_GNU_SOURCE -DCONFIG_VERSION='"2025-04-26"' -MMD -MP -c $< -o $@
$(B)/host/bench/ops_js.o: HOST_CFLAGS += -isystem $(QJS_SRC)
else
$(B)/host/bench/ops_js.o: HOST_CFLAGS += -DHL_BENCH_NO_QJS
endif

$(B)/bin/hl-bench: $(BENCH_OBJ) $(BENCH_QJS_OBJ) $(JS_HOST_LIBS)
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS) -lm

# The quickjs-emscripten peer, from npm into build/npm (pinned), when npm is there.
QJS_EMSCRIPTEN_VERSION := 0.32.0
QJS_EMSCRIPTEN := build/npm/node_modules/quickjs-emscripten/dist/index.mjs
$(QJS_EMSCRIPTEN):
	@if command -v npm > /dev/null; then \
	    echo "  NPM       quickjs-emscripten $(QJS_EMSCRIPTEN_VERSION) into build/npm"; \
	    mkdir -p build/npm && npm install --silent --no-audit --no-fund --prefix build/npm \
	        quickjs-emscripten@$(QJS_EMSCRIPTEN_VERSION) || echo "bench: npm install failed" >&2; \
	fi
BENCH_JS_PEER = $(if $(wildcard $(QJS_EMSCRIPTEN)),--qjs-emscripten $(CURDIR)/$(QJS_EMSCRIPTEN))

# The process-sandbox peer: a plain static program, built without the library's flags.
$(B)/bin/peer_echo: bench/peer_echo.c
	@mkdir -p $(@D)
	@$(call say,CC-STATIC,$@)
	$(Q)$(CC) -O2 -static -o $@ $<

$(B)/guests/bench_guest.elf: bench/bench_guest.c $(GUEST_DEPS)
	@mkdir -p $(@D)
	@$(call say,HL-CC,$@)
	$(Q)$(HLCC) -o $@ $<

.PHONY: bench bench-smoke bench-chart
bench: $(BENCH_PROGS) $(QJS_EMSCRIPTEN)
	$(BENCH_RUN) $(BENCH_JS_PEER) --verbose --json-file $(B)/bench.json

bench-smoke: $(BENCH_PROGS)
	@start=$$(date +%s); rc=0; \
	$(BENCH_RUN) --quick --json-file $(B)/bench-smoke.json > $(B)/bench-smoke.txt || rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "bench-smoke: SKIPPED, nothing measured: KVM is not available"; exit 0; fi; \
	[ $$rc -eq 0 ] || \
	    { cat $(B)/bench-smoke.txt; echo "bench-smoke: a measurement failed" >&2; exit 1; }; \
	tail -n 12 $(B)/bench-smoke.txt; \
	echo "bench-smoke: ok in $$(( $$(date +%s) - start )) s (table: $(B)/bench-smoke.txt)"

bench-chart: $(B)/bench.json
	python3 bench/chart.py $(B)/bench.json docs/perf.png
