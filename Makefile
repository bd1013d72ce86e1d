# The guide's commands. A reader needs two of them:
#   make lab-1     build lab 1 and run its demo on loopback (any N from 1 to 9)
#   make test      build everything and run every test (what CI runs)
# and, for writers of the guide:
#   make labs      run every lab's demo in order (a tour of the guide)
#   make sync      copy each chapter's listings from the lab sources they name

SWIFT ?= swift
BIN := .build/debug
LAB_DIRS := $(sort $(wildcard Labs/[0-9][0-9]-*))

.PHONY: all build test sync labs tour literate-check

all: build

build:
	$(SWIFT) build

# lab-N: Labs/0N-name builds the executable `name`.
lab-%:
	@dir=$$(ls -d Labs/$$(printf %02d $* 2>/dev/null)-* 2>/dev/null | head -n 1); \
	if [ -z "$$dir" ]; then echo "make: there is no lab $* (the labs: $(LAB_DIRS))" >&2; exit 2; fi; \
	name=$${dir#Labs/[0-9][0-9]-}; \
	$(SWIFT) build -q --product $$name && $(BIN)/$$name

labs tour:
	@$(SWIFT) build -q
	@for dir in $(LAB_DIRS); do \
		name=$${dir#Labs/[0-9][0-9]-}; \
		echo; echo "=== $$dir: $$name ==="; \
		$(BIN)/$$name || exit 1; \
	done

# Descriptor-leak tests count /proc/self/fd, so they run alone, after everything else.
test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip DescriptorLeaks
	$(SWIFT) test --skip-build --filter DescriptorLeaks

sync:
	@$(SWIFT) build -q --product literate
	@$(BIN)/literate sync

literate-check:
	@$(SWIFT) build -q
	@$(BIN)/literate check --bin $(BIN)
