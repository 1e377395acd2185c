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

$(B)/bin/hl-bench: $(BENCH_OBJ) $(B)/lib/libhyperlight.a
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

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
bench: $(BENCH_PROGS)
	$(BENCH_RUN) --verbose --json-file $(B)/bench.json

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
