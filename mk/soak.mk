# soak.mk: the soak test (tests/soak/soak.c), not part of `make test`.
#   make soak                                  10,000 create-call-destroy cycles, then 100,000
#                                              calls restoring after each; fds/RSS must stay flat
#   make soak SOAK_CYCLES=500 SOAK_CALLS=5000  a short pass (CI)
# It exits 0 on PASS, 1 on FAIL and 77 (skip) without /dev/kvm.
SOAK := $(B)/tests/soak

$(SOAK): $(B)/host/tests/soak/soak.o $(B)/lib/libhyperlight.a
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

.PHONY: soak
soak: $(SOAK) $(B)/guests/simpleguest.elf
	@rc=0; $(TEST_ENV) $(if $(SOAK_CYCLES),SOAK_CYCLES=$(SOAK_CYCLES)) \
	    $(if $(SOAK_CALLS),SOAK_CALLS=$(SOAK_CALLS)) $(SOAK) || rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "soak: SKIPPED, nothing run: KVM is not available"; exit 0; fi; \
	exit $$rc
