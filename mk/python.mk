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

# The package under PREFIX (with DESTDIR as the root), offline: setuptools and wheel must be
# installed. make install does not run it (it installs no Python files); run it after. PREFIX
# /usr/local is left to pip (Debian's pip maps --prefix /usr/local to /usr/local/local).
.PHONY: install-python
install-python:
	$(PYTHON) -m pip install --no-index --no-build-isolation --no-deps --ignore-installed \
	    $(if $(DESTDIR),--root $(DESTDIR)) $(if $(filter-out /usr/local,$(PREFIX)),--prefix $(PREFIX)) \
	    ./bindings/python
	rm -rf bindings/python/build bindings/python/hyperlight.egg-info
