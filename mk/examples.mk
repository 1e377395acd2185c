# examples.mk: the examples beyond make demo (examples/js: a JS sandbox host, below). examples/json builds cJSON, a well-known C library,
# unmodified with its own Makefile and CC=hl-cc. Its source is Debian's cjson source package at a
# pinned version (bookworm's, with its security updates), unpacked by mk/apt-source.sh into
# build/deps (shared by every build directory) and copied into $(B)/cjson to build there.
CJSON_VERSION := 1.7.15-1+deb12u4
CJSON_SRC := build/deps/cjson-$(CJSON_VERSION)
CJSON_BUILD := $(B)/cjson

$(CJSON_SRC)/.unpacked: mk/apt-source.sh
	@$(call say,APT-SRC,cjson $(CJSON_VERSION))
	$(Q)mk/apt-source.sh cjson $(CJSON_VERSION) build/deps

$(CJSON_BUILD)/libcjson.a: $(CJSON_SRC)/.unpacked $(GUEST_DEPS)
	@$(call say,MAKE,cJSON with CC=hl-cc)
	$(Q)rm -rf $(CJSON_BUILD) && cp -R $(CJSON_SRC) $(CJSON_BUILD)
	$(Q)$(MAKE) -s -C $(CJSON_BUILD) CC=$(CURDIR)/$(HLCC) AR=$(AR) libcjson.a > /dev/null

$(B)/guests/json_guest.elf: examples/json/json_guest.c $(CJSON_BUILD)/libcjson.a
	@mkdir -p $(@D)
	@$(call say,HL-CC,$@)
	$(Q)$(HLCC) -O2 -I$(CJSON_BUILD) -o $@ $< $(CJSON_BUILD)/libcjson.a

$(B)/bin/json_host: $(B)/host/examples/json/json_host.o $(B)/lib/libhyperlight.a
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

# examples/js: a host program on libhyperlight_js and its handler module.
$(B)/bin/js_host: $(B)/host/examples/js/js_host.o $(JS_HOST_LIBS)
	@mkdir -p $(@D)
	@$(call say,LD,$@)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

.PHONY: examples example-json example-js
examples: example-json example-js
example-json: $(B)/bin/json_host $(B)/guests/json_guest.elf
example-js: $(B)/bin/js_host
