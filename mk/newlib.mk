# newlib.mk: the guest C library. mk/newlib.sh builds newlib's libc and libm once from Debian's
# newlib-source package (installing the package when it is missing and we are root) into
# $(NEWLIB); every build directory (build, build-san, build-vm, build-clang) shares it.
NEWLIB_BUILT := $(NEWLIB)/.built
NEWLIB_LIBS := $(NEWLIB)/lib/libc.a $(NEWLIB)/lib/libm.a

$(NEWLIB_BUILT): mk/newlib.sh
	@$(call say,NEWLIB,$(NEWLIB) (once; about two minutes))
	$(Q)mk/newlib.sh $(CURDIR)/$(NEWLIB) gcc '$(GUEST_CODEGEN)'

$(NEWLIB_LIBS): $(NEWLIB_BUILT)
	@test -f $@

.PHONY: newlib
newlib: $(NEWLIB_BUILT)
