# The guide's commands. A reader needs two of them:
#   make lab-1     build lab 1 and run its demo on loopback (any lab's number)
#   make test      build everything and run every test (what CI runs)
# and, for writers of the guide:
#   make labs      run every lab's demo in order (a tour of the guide)
#   make sync      copy each chapter's listings from the lab sources they name
#   make format    lay the code out as .swift-format says (make lint checks it)
#   make c10k      labs 11 and 12 holding 10,000 connections each (make test holds 1,000)
#   make bench     release builds of the servers against Go, iperf3 and openssl (Chapters/A1-benchmarks.md)
#   make book      the chapters as an HTML book in book/ (open book/index.html)
#   make serve-book  the book served over HTTPS by lab 13's https-server, under a throwaway CA
#   make sanitize  every suite built and run under ThreadSanitizer, then AddressSanitizer
#   make fuzz      each libFuzzer target (Fuzz/) for SECONDS seconds (default 60)
# and, for students and instructors (GRADING.md):
#   make check-3   build lab 3 and grade it alone      make hint-3 [HINT=2|all]   its hints
#   make grade     build and grade every lab; reports in grade/ (OUT=DIR elsewhere)
#   make grade SUBMISSION=DIR    grade a student's copy with this checkout's checks, sandboxed
#   make grade SUBMISSIONS=DIR [JOBS=N]   every student's copy in DIR, N at a time, and a summary
#   make starter DEST=DIR        write the student's copy: solutions replaced by stubs

SWIFT ?= swift
BIN := .build/debug
LAB_DIRS := $(sort $(wildcard Labs/[0-9][0-9]-*))

.PHONY: all build test test-programs go-toolchain grading-programs book-programs browser book serve-book sync labs tour
.PHONY: literate-check openssl-headers grade starter lint format c10k bench iperf3
.PHONY: sanitize sanitize-thread sanitize-address mutex-handoff-check fuzz fuzz-smoke

all: build

# Labs 7 and 9 build on the system's OpenSSL. Without its headers the compiler would
# print a screen of errors; this stops with the one line that says what to do.
OPENSSL_HEADERS ?= $(or $(wildcard /usr/include/openssl/ssl.h),$(shell pkg-config --exists openssl 2>/dev/null && echo found))
openssl-headers:
	@$(if $(OPENSSL_HEADERS),:,$(error OpenSSL's headers are missing: install them with 'apt-get install libssl-dev'))

build: openssl-headers
	$(SWIFT) build

# Sets `name` to lab $*'s executable: Labs/0N-name builds the executable `name`.
LAB_NAME = dir=$$(ls -d Labs/$$(printf %02d $* 2>/dev/null)-* 2>/dev/null | head -n 1); \
	if [ -z "$$dir" ]; then echo "make: there is no lab $* (the labs: $(LAB_DIRS))" >&2; exit 2; fi; \
	name=$${dir\#Labs/[0-9][0-9]-}

lab-%: openssl-headers
	@$(LAB_NAME); \
	$(SWIFT) build -q --product $$name && $(BIN)/$$name

labs tour: openssl-headers
	@$(SWIFT) build -q
	@for dir in $(LAB_DIRS); do \
		name=$${dir#Labs/[0-9][0-9]-}; \
		echo; echo "=== $$dir: $$name ==="; \
		$(BIN)/$$name || exit 1; \
	done

# Some suites run alone, after everything else: the descriptor-leak tests count
# /proc/self/fd; lab 8's tests time timeouts, which a busy machine would blur; the graceful
# close's hundreds of clients (and openssl processes) would be that busy machine; headless
# Chromium (the book's pages, lab 13's page) takes a few hundred megabytes and a core per
# page; and the exercises' honesty check builds a student's copy (it needs the cores).
# The reliability tests that push a server to its limits (threads, descriptors, a stop
# signal) time what the server does, so they too run on their own. Then a few seconds of
# each fuzz target, from the seed corpora, so CI keeps them building and finding nothing.
RELIABILITY := ThreadLimitTests|DescriptorLimitTests|StopTests|LongCNAMEChainTests
BROWSER_TESTS := BookInChromium|headlessChromium
ALONE := DescriptorLeaks|Lab08DialTimeout|GracefulClose|GradingHonesty|GradingIsolation|$(BROWSER_TESTS)|$(RELIABILITY)
test: openssl-headers test-programs go-toolchain grading-programs book-programs browser lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip '$(ALONE)'
	$(SWIFT) test --skip-build --filter '$(BROWSER_TESTS)'
	$(SWIFT) test --skip-build --filter DescriptorLeaks
	$(SWIFT) test --skip-build --filter GracefulClose
	$(SWIFT) test --skip-build --filter Lab08DialTimeout
	$(SWIFT) test --skip-build --filter '$(RELIABILITY)'
	$(SWIFT) test --skip-build --filter 'GradingHonesty|GradingIsolation'
	$(MAKE) --no-print-directory fuzz-smoke

# Every suite under a sanitizer, each in a scratch directory of its own (the labs the tests
# run are built with the same sanitizer). Too slow for `make test`; run it before a release.
# A sanitizer slows everything down: SANITIZED=1 tells the tests (see `generous`) to relax
# their time bounds, and to ignore memory growth (ASan keeps freed memory in quarantine).
# Tests/lsan-suppressions.txt lists the leaks inside Foundation and XCTest themselves.
# ThreadSanitizer cannot see a contended Swift Mutex change hands (the kernel hands it over):
# Tests/tsan-mutex-handoff.c, preloaded into the tests and the labs they start, tells it.
# At most 8 tests at a time: all ~200 at once, each several times slower, left 2 cores so
# busy that a test of a 200 ms deadline waited minutes for its turn.
SANITIZE_RUN = SANITIZED=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/lsan-suppressions.txt:print_suppressions=0 \
	TSAN_OPTIONS=suppressions=$(CURDIR)/Tests/tsan-suppressions.txt $(SANITIZE_PRELOAD) \
	SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=8 \
	$(SWIFT) test --skip-build --sanitize=$(1) --scratch-path .build-$(2)
TOOLCHAIN_CLANG = $(dir $(realpath $(shell command -v $(SWIFT))))clang
MUTEX_HANDOFF := .build-tsan/tsan-mutex-handoff.so
$(MUTEX_HANDOFF): Tests/tsan-mutex-handoff.c
	@mkdir -p $(@D)
	$(TOOLCHAIN_CLANG) -O2 -Wall -Werror -shared -fPIC -o $@ $<
# Before the suites: a contended Mutex must raise no report with it, and a real race must.
MUTEX_HANDOFF_CHECK := .build-tsan/tsan-mutex-handoff-check
$(MUTEX_HANDOFF_CHECK): Tests/tsan-mutex-handoff-check.swift
	@mkdir -p $(@D)
	$(SWIFTC) -sanitize=thread -g -o $@ $<
mutex-handoff-check: $(MUTEX_HANDOFF) $(MUTEX_HANDOFF_CHECK)
	LD_PRELOAD=$(CURDIR)/$(MUTEX_HANDOFF) $(MUTEX_HANDOFF_CHECK)
	@LD_PRELOAD=$(CURDIR)/$(MUTEX_HANDOFF) $(MUTEX_HANDOFF_CHECK) racy >/dev/null 2>&1; \
		if [ $$? = 66 ]; then echo "and ThreadSanitizer still reports a race outside the lock"; \
		else echo "ThreadSanitizer missed a race with $(MUTEX_HANDOFF) preloaded" >&2; exit 1; fi
sanitize-thread: SANITIZE_PRELOAD = LD_PRELOAD=$(CURDIR)/$(MUTEX_HANDOFF)
sanitize-thread: mutex-handoff-check
sanitize: sanitize-thread sanitize-address
sanitize-thread sanitize-address: sanitize-%: openssl-headers test-programs
	$(SWIFT) build --build-tests --sanitize=$* --scratch-path .build-$(subst thread,tsan,$(subst address,asan,$*))
	$(call SANITIZE_RUN,$*,$(subst thread,tsan,$(subst address,asan,$*))) --skip '$(ALONE)'
	$(call SANITIZE_RUN,$*,$(subst thread,tsan,$(subst address,asan,$*))) --filter DescriptorLeaks
	$(call SANITIZE_RUN,$*,$(subst thread,tsan,$(subst address,asan,$*))) --filter GracefulClose
	$(call SANITIZE_RUN,$*,$(subst thread,tsan,$(subst address,asan,$*))) --filter Lab08DialTimeout
	$(call SANITIZE_RUN,$*,$(subst thread,tsan,$(subst address,asan,$*))) --filter '$(RELIABILITY)'

# libFuzzer targets (Fuzz/NAME/target.swift) for the parsers of untrusted input: DNS messages
# from the network, addresses and durations from the command line. Each is built with
# swiftc against the modules it needs, compiled for fuzzing; it starts from the seeds in
# Fuzz/NAME/corpus (what it finds goes to .build-fuzz/corpus-NAME) with the dictionary
# Fuzz/NAME/dictionary. A crash leaves its input in .build-fuzz/crash-NAME-*: make it a
# regression test, then fix it.
SECONDS ?= 60
SMOKE_SECONDS ?= 4
SWIFTC ?= swiftc
FUZZ_DIR := .build-fuzz
FUZZ_TARGETS := dns-message address duration
FUZZ_FLAGS := -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld -I $(FUZZ_DIR) -I Sources/CLinux -L $(FUZZ_DIR)
fuzz_modules_dns-message := DNS Sockets
fuzz_modules_address := Sockets
fuzz_modules_duration := Sockets

$(FUZZ_DIR)/libSockets.a: $(wildcard Sources/Sockets/*.swift)
	@mkdir -p $(FUZZ_DIR)
	$(SWIFTC) $(FUZZ_FLAGS) -module-name Sockets -emit-module -emit-module-path $(FUZZ_DIR)/Sockets.swiftmodule \
		-emit-library -static -o $@ $^
$(FUZZ_DIR)/libDNS.a: $(wildcard Sources/DNS/*.swift) $(FUZZ_DIR)/libSockets.a
	$(SWIFTC) $(FUZZ_FLAGS) -module-name DNS -emit-module -emit-module-path $(FUZZ_DIR)/DNS.swiftmodule \
		-emit-library -static -o $@ $(filter %.swift,$^)
$(FUZZ_DIR)/fuzz-dns-message: $(FUZZ_DIR)/libDNS.a
$(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%): $(FUZZ_DIR)/libSockets.a
$(FUZZ_DIR)/fuzz-%: Fuzz/%/target.swift
	$(SWIFTC) $(FUZZ_FLAGS) -module-name Fuzz $(patsubst %,-l%,$(fuzz_modules_$*)) -o $@ $<

# One target after another, SECONDS each; the first finding stops the run.
FUZZ_RUN = for target in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus-$$target; \
		echo "fuzz $$target for $(1)s"; \
		$(FUZZ_DIR)/fuzz-$$target -max_total_time=$(1) -print_final_stats=1 -dict=Fuzz/$$target/dictionary \
			-artifact_prefix=$(FUZZ_DIR)/crash-$$target- $(FUZZ_DIR)/corpus-$$target Fuzz/$$target/corpus \
			2>$(FUZZ_DIR)/log-$$target || { tail -n 40 $(FUZZ_DIR)/log-$$target; exit 1; }; \
		grep -E '^stat::number_of_executed_units' $(FUZZ_DIR)/log-$$target; \
	done
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)
	@$(call FUZZ_RUN,$(SECONDS))
fuzz-smoke: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)
	@$(call FUZZ_RUN,$(SMOKE_SECONDS))

# Real programs some tests talk to, beyond the machine image: dnsmasq, a real DNS server for
# lab 5's stub resolver. Installed when we can (root, Debian); otherwise that test is skipped.
test-programs:
	@command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing dnsmasq-base (a real DNS server for lab 5's tests)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsmasq-base) >/dev/null 2>&1 \
				|| echo "could not install dnsmasq-base: lab 5's test against a real DNS server will be skipped"; \
		else \
			echo "dnsmasq is not installed (apt-get install dnsmasq-base): lab 5's test against it will be skipped"; \
		fi; }

# Go, for the comparisons with the source's programs: the chapters show what `go build` says
# about our transcriptions of its snippets that do not compile (Chapters/go/). Without Go,
# those checks are skipped.
go-toolchain:
	$(call install-program,go,golang-go,the comparisons with the source's Go programs)

# Installs Debian package $(2) when command $(1) is missing and we can (root, apt-get);
# otherwise says what $(3) will lack.
define install-program
	@command -v $(1) >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing $(2) ($(3))"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2)) >/dev/null 2>&1 \
				|| echo "could not install $(2): $(3) will be missing"; \
		else \
			echo "$(1) is not installed (apt-get install $(2)): $(3) will be missing"; \
		fi; }
endef

# The book is rendered by Debian's cmark-gfm (Markdown) and highlight (listings).
book-programs:
	$(call install-program,cmark-gfm,cmark-gfm,the book's Markdown renderer)
	$(call install-program,highlight,highlight,the book's listing highlighter)

# Headless Chromium, a real browser for lab 13's tests and the book's (skipped without it).
browser:
	$(call install-program,chromium,chromium,the browser tests of lab 13 and the book)

BOOK ?= book
book: book-programs
	@$(SWIFT) build -q --product literate
	@$(BIN)/literate book --out $(BOOK)

# The book over HTTPS: https-server makes a throwaway CA (keys deleted when it stops) and
# writes the CA's certificate where a browser can be told to trust it.
BOOK_ADDRESS ?= 127.0.0.1:8443
serve-book: book openssl-headers
	@$(SWIFT) build -q --product https-server
	@$(BIN)/https-server --listen $(BOOK_ADDRESS) --root $(BOOK) --make-ca $(abspath $(BOOK))-ca.pem

# The instructor's grading runs every submission in a sandbox made with bubblewrap (GRADING.md
# § The sandbox). Without it an instructor's run refuses (or --unsafe), and its test is skipped.
grading-programs:
	$(call install-program,bwrap,bubblewrap,the grading sandbox)

# The code's layout is swift-format's, configured in .swift-format: `make format` applies it,
# `make lint` (run by `make test`) fails on any difference.
SWIFT_FORMAT_PATHS := Package.swift Sources Labs Tests Bench
lint:
	$(SWIFT) format lint --recursive --strict $(SWIFT_FORMAT_PATHS)

format:
	$(SWIFT) format --in-place --recursive $(SWIFT_FORMAT_PATHS)

sync:
	@$(SWIFT) build -q --product literate
	@$(BIN)/literate sync

literate-check: openssl-headers
	@$(SWIFT) build -q
	@$(BIN)/literate check --bin $(BIN)

# Exercises and grading (GRADING.md). Reports: grade.json and junit.xml in $(OUT).
OUT ?= grade
HINT ?= 1

# A student's own run (`make check-N`, `make grade`) builds this checkout's labs in place and
# grades them, unsandboxed. An instructor's (`SUBMISSION=`, `SUBMISSIONS=`) builds each
# submission's labs in a fresh tree from this checkout and runs them in a sandbox.
GRADE = $(SWIFT) build -q --product grade && SWIFT=$(SWIFT) $(BIN)/grade
UNSAFE_FLAG = $(if $(UNSAFE),--unsafe)

# `make check-N` exits as the grader does: 0 when every check passes, 1 when one fails, 2
# for a usage error. (make turns a failed recipe into 2; in question mode, -q, with the
# recipe marked `+` so it still runs, make exits 1 for a failure instead.)
ifneq ($(filter check-%,$(MAKECMDGOALS)),)
MAKEFLAGS += -q
endif
check-%:
	+@$(if $(OPENSSL_HEADERS),:,echo "OpenSSL's headers are missing: install them with 'apt-get install libssl-dev'" >&2; exit 2)
	+@$(GRADE) --in-place . --labs $* --out $(OUT)/check-$*

hint-%:
	@$(GRADE) hint $* $(HINT)

grade: openssl-headers grading-programs
ifdef SUBMISSIONS
	@$(GRADE) --submissions $(SUBMISSIONS) --out $(OUT) $(if $(JOBS),--jobs $(JOBS)) $(if $(LABS),--labs $(LABS)) $(UNSAFE_FLAG)
else ifdef SUBMISSION
	@$(GRADE) --submission $(SUBMISSION) --out $(OUT) $(if $(LABS),--labs $(LABS)) $(UNSAFE_FLAG)
else
	@$(GRADE) --in-place . --out $(OUT) $(if $(LABS),--labs $(LABS))
endif

starter:
	@if [ -z "$(DEST)" ]; then echo "make: say where: make starter DEST=DIR" >&2; exit 2; fi
	@$(GRADE) starter $(DEST)

# Chapters 11 and 12's promise at full size: `event-loop --echo` and `async-server --echo` each
# hold 10,000 loopback connections on at most 8 threads and under 256 MiB, serve a new client
# at once meanwhile, and give back every descriptor. (make test runs the same with 1,000.)
c10k: openssl-headers
	$(SWIFT) build --build-tests
	C10K_CONNECTIONS=10000 $(SWIFT) test --skip-build --filter ManyConnections


# iperf3, the reference for make bench's bulk throughput.
iperf3:
	$(call install-program,iperf3,iperf3,make bench's bulk-throughput reference)

# The servers in release builds, each against a Go program doing the same work, iperf3 and
# `openssl s_server`, measured in interleaved rounds (A B, B A, ...) by one load generator; each ratio the
# median of the rounds' with its range; and the
# report in Chapters/A1-benchmarks.run.txt, which Chapters/A1-benchmarks.md includes (make sync).
# BENCH_SECONDS and BENCH_ROUNDS change the length of a run.
RELEASE := .build-release
BENCH_SECONDS ?= 3
BENCH_ROUNDS ?= 3
bench: openssl-headers go-toolchain iperf3
	$(SWIFT) build -c release --scratch-path $(RELEASE) --product hello-server
	$(SWIFT) build -c release --scratch-path $(RELEASE) --product tls-server
	$(SWIFT) build -c release --scratch-path $(RELEASE) --product event-loop
	$(SWIFT) build -c release --scratch-path $(RELEASE) --product async-server
	$(SWIFT) build -c release --scratch-path $(RELEASE) --product bulk
	$(CC) -O2 -Wall -o $(RELEASE)/loadgen Bench/loadgen.c -lssl -lcrypto -lpthread
	cd Bench/go && GOCACHE=$(CURDIR)/$(RELEASE)/gocache GO111MODULE=off go build -o $(CURDIR)/$(RELEASE)/bench-go .
	python3 Bench/bench.py --bin $(RELEASE)/release --loadgen $(RELEASE)/loadgen --go $(RELEASE)/bench-go \
		--seconds $(BENCH_SECONDS) --rounds $(BENCH_ROUNDS) --out Chapters/A1-benchmarks.run.txt
