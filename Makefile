# Top-level Makefile: the commands a person types. CMake does the building.
#   make            build build/trawl and libtrawl (static + shared)
#   make test       deps + build + every test; again under ASan/UBSan every
#                   unit test and every lab test not marked "# asan: skip";
#                   and every fuzz harness for 20 s
#   make fuzz       build the libFuzzer harnesses (clang) and run each for
#                   FUZZ_SECONDS (default 60); see docs/fuzzing.md
#   make demo       deps + build + the demonstration (see README.md)
#   make test-nse-compare  only the comparison of nmap -sC and trawl -sC on
#                   the lab, script by script (issue 12; make test runs it too)
#   make bench-*    benchmarks against peers (see docs/benchmarks.md);
#                   bench-os also prints the traceroute lines (issue 11)
#   make install    PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
DESTDIR ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=

.PHONY: all build deps test test-normal test-asan test-nse-compare demo install clean \
        bench-loop bench-packets bench-scan bench-scripts bench-version bench-os bench-traceroute bench-nse

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@bash scripts/deps.sh

test: deps
	$(MAKE) test-normal
	$(MAKE) test-asan
	$(MAKE) test-fuzz
	@echo "make test: all suites passed (normal, ASan/UBSan, fuzz harnesses)"

# Unit tests run one at a time (some assert on timer lateness, so they get
# the machine to themselves); then the lab tests, LAB_JOBS at a time: each
# has namespaces of its own and mostly waits (timeouts, peers, daemons).
LAB_JOBS ?= 3
CTEST_SPLIT = rc=0; ctest --output-on-failure -j 1 -L unit || rc=1; \
	  ctest --output-on-failure -j $(LAB_JOBS) -L
test-normal: build
	cd $(BUILD) && $(CTEST_SPLIT) lab || rc=1; exit $$rc

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DTRAWL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null

test-asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && \
	  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
	         UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 && \
	  $(CTEST_SPLIT) asan || rc=1; exit $$rc

test-nse-compare: deps build
	cd $(BUILD) && ctest --output-on-failure -R lab_test_nse_compare

demo: deps build
	@bash scripts/demo.sh $(BUILD)

# A static pattern rule: make skips implicit (pattern) rules for .PHONY
# targets, so a plain `bench-%:` rule never ran for them.
bench-loop bench-packets bench-scan bench-scripts bench-version bench-os bench-traceroute bench-nse: bench-%: deps
	cmake -S . -B $(BUILD) -DTRAWL_BENCH=ON -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	@bash bench/$*.sh $(BUILD)
	@if [ $* = os ]; then bash bench/traceroute.sh $(BUILD); fi

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# ---- fuzzing (tests/fuzz/, docs/fuzzing.md) ---------------------------------
# The harnesses tests/fuzz/fuzz_*.c, built with clang in their own directory
# (lib/ and src/ instrumented for libFuzzer, ASan and UBSan), each run for
# FUZZ_SECONDS from its seed corpus (read only), FUZZ_JOBS at a time;
# FUZZ_ONLY="packet dispatch" runs only those harnesses.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_TEST_SECONDS ?= 20

.PHONY: fuzz fuzz-build test-fuzz

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DTRAWL_FUZZ=ON $(CMAKE_FLAGS) >/dev/null

fuzz-build: $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	@FUZZ_ONLY="$(FUZZ_ONLY)" bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS)

test-fuzz: fuzz-build
	@FUZZ_ONLY= bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS) $(FUZZ_JOBS)
