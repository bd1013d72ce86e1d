# The guide's commands. A reader needs two of them:
#   make lab-1     build lab 1 and run its demo on loopback (any N from 1 to 9)
#   make test      build everything and run every test (what CI runs)
# and, for writers of the guide:
#   make labs      run every lab's demo in order (a tour of the guide)
#   make sync      copy each chapter's listings from the lab sources they name

SWIFT ?= swift
BIN := .build/debug
LAB_DIRS := $(sort $(wildcard Labs/[0-9][0-9]-*))

.PHONY: all build test sync labs tour literate-check openssl-headers

all: build

# Labs 7 and 9 build on the system's OpenSSL. Without its headers the compiler would
# print a screen of errors; this stops with the one line that says what to do.
OPENSSL_HEADERS ?= $(or $(wildcard /usr/include/openssl/ssl.h),$(shell pkg-config --exists openssl 2>/dev/null && echo found))
openssl-headers:
	@$(if $(OPENSSL_HEADERS),:,$(error OpenSSL's headers are missing: install them with 'apt-get install libssl-dev'))

build: openssl-headers
	$(SWIFT) build

# lab-N: Labs/0N-name builds the executable `name`.
lab-%: openssl-headers
	@dir=$$(ls -d Labs/$$(printf %02d $* 2>/dev/null)-* 2>/dev/null | head -n 1); \
	if [ -z "$$dir" ]; then echo "make: there is no lab $* (the labs: $(LAB_DIRS))" >&2; exit 2; fi; \
	name=$${dir#Labs/[0-9][0-9]-}; \
	$(SWIFT) build -q --product $$name && $(BIN)/$$name

labs tour: openssl-headers
	@$(SWIFT) build -q
	@for dir in $(LAB_DIRS); do \
		name=$${dir#Labs/[0-9][0-9]-}; \
		echo; echo "=== $$dir: $$name ==="; \
		$(BIN)/$$name || exit 1; \
	done

# Descriptor-leak tests count /proc/self/fd, so they run alone, after everything else.
test: openssl-headers
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip DescriptorLeaks
	$(SWIFT) test --skip-build --filter DescriptorLeaks

sync:
	@$(SWIFT) build -q --product literate
	@$(BIN)/literate sync

literate-check: openssl-headers
	@$(SWIFT) build -q
	@$(BIN)/literate check --bin $(BIN)
