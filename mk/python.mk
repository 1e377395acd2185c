# python.mk: the Python bindings (bindings/python: pure Python over ctypes, nothing to build).
# make test also runs their unittest suites, through $(B)/tests/python_bindings: a wrapper around
# bindings/python/tests/run.py, whose closing line tests/run.sh counts. It loads this build's
# libraries ($(B)/lib) and guests; what needs KVM or the JS guest skips, with the reason, where
# these are missing. With SANITIZE=1 the libraries need the ASan runtime first in the process, so
# the suites are counted as one skip. make python-test runs only them.
PYTHON ?= python3
PY_TEST_RUNNER := $(B)/tests/python_bindings

ifeq ($(SANITIZE),1)
PY_TEST_CMD := echo "python bindings: skipped with SANITIZE=1 (ASan libraries in a Python process)";\
               echo "0 passed, 0 failed, 1 skipped"
else
PY_TEST_CMD := HYPERLIGHT_LIB=$(CURDIR)/$(B)/lib/libhyperlight.so \
               HYPERLIGHT_JS_LIB=$(CURDIR)/$(B)/lib/libhyperlight_js.so \
               exec $(PYTHON) $(CURDIR)/bindings/python/tests/run.py "$$@"
endif

$(PY_TEST_RUNNER): mk/python.mk
	@mkdir -p $(@D)
	@$(call say,GEN,$@)
	$(Q)printf '%s\n' '#!/bin/sh' '$(PY_TEST_CMD)' > $@ && chmod +x $@

.PHONY: python-test
test: $(PY_TEST_RUNNER) $(JS_LIBS)
test: UNIT_TESTS += $(PY_TEST_RUNNER)

python-test: all $(PY_TEST_RUNNER)
	@$(TEST_ENV) tests/run.sh $(PY_TEST_RUNNER)

# make install installs the Python package too (install-python: bindings/python/install.py, no
# pip, no network): the files and a dist-info into $(PYTHON)'s site directory under PREFIX, as
# site.getsitepackages() reports it (Debian's python3: /usr/local/lib/python3.X/dist-packages for
# PREFIX /usr/local, /usr/lib/python3/dist-packages for /usr), else PREFIX/lib/python3.X/
# site-packages; PYTHON_SITE=DIR chooses another. Staged under DESTDIR. The installed package
# loads PREFIX/lib's libraries. Without $(PYTHON), it says so and installs nothing.
PYTHON_SITE ?=
.PHONY: install-python
install: install-python
install-python:
	@if command -v $(PYTHON) >/dev/null 2>&1; then \
	    $(PYTHON) bindings/python/install.py --prefix '$(PREFIX)' $(if $(DESTDIR),--root '$(DESTDIR)') \
	        $(if $(PYTHON_SITE),--dir '$(PYTHON_SITE)'); \
	else \
	    echo "install-python: $(PYTHON) not found: the Python package is not installed (PYTHON=...)"; \
	fi
