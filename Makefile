# lockdiag — the README's two commands live here: `make demo` and `make test`.
# Both install what a fresh Debian 12 machine with Swift lacks (apt, as root or via sudo).

SWIFT       ?= swift
# libxml2-utils (xmllint) validates bench JUnit XML against its schema; python3-prometheus-client
# parses the metrics endpoint's output (both only in tests); libsqlite3-dev backs the history store;
# python3-seccomp runs lockdiagd under the unit's syscall filter (HardeningTests); python3-cryptography
# and nodejs are the independent checks of signed reports (IndependentCheckTests); umockdev,
# libumockdev-dev and udev (udevadm) are for the USB and udev tests (fake devices, the
# real rules engine); postgresql is the fleet database FleetTests start in a temporary folder;
# tshark (with capinfos) reads `lockdiagd --record` files and runs the Lua dissectors of
# firmware-specs/wireshark/ (RecordingTests); openssl makes the test CA and certificates of
# the TLS fleet tests (FleetTLSTests).
APT_PACKAGES = pkg-config libusb-1.0-0-dev libbluetooth-dev libudev-dev libsqlite3-dev libxml2-utils python3-prometheus-client \
               python3-seccomp \
               python3-cryptography nodejs \
               umockdev libumockdev-dev udev \
               postgresql tshark openssl
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build test lab demo bench bench-usb bench-api bench-fleet catalog commissioning-limits vectors clean report-check crash-soak tuya-schemas fuzz fuzz-build fuzz-merge fuzz-seeds

# Install only what is missing, so a machine that has everything never touches apt. The frontend
# is set inside sudo (which drops the caller's environment): wireshark-common asks a question.
define install-missing
@missing=""; for p in $(1); do \
    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
    echo "installing:$$missing"; \
    $(SUDO) apt-get update -qq && \
    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef

deps:
	$(call install-missing,$(APT_PACKAGES))

build: deps
	$(SWIFT) build

# Swift Testing runs up to 2×cores test cases at once, but the cooperative thread pool has one
# thread per core: end-to-end tests block a pool thread while they wait on real processes, and
# two of them at once starve the in-process servers other tests run on that pool. Two at a time
# keeps a pool thread free (swift-testing's SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH).
TEST_PARALLELISM ?= 2

# First, with no build: every module a target imports is one it declares in Package.swift.
test: deps
	python3 scripts/check-imports.py
	SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(TEST_PARALLELISM) $(SWIFT) test

# The kernel lab (docs/lab.md): Debian's own kernel in QEMU (TCG) running the lab scenarios as
# root against the real USB gadget, Bluetooth and systemd stacks, with the host's / read-only over
# 9p. The kernel image is downloaded and unpacked under .build/lab, never installed.
# LAB_SCENARIOS picks some, e.g. LAB_SCENARIOS=cdc-acm.
LAB_PACKAGES = qemu-system-x86 busybox-static cpio kmod xz-utils bluez bluez-test-tools systemd udev e2fsprogs sqlite3 socat
lab: deps
	$(call install-missing,$(LAB_PACKAGES))
	$(SWIFT) build
	sh scripts/lab/lab.sh $(LAB_SCENARIOS)

# lockdiagd with simulated healthy and faulty locks, diagnosed by the CLI, then stopped.
demo: deps
	$(SWIFT) build
	sh scripts/demo.sh

clean:
	rm -rf .build

# The fault catalog is compiled from firmware-specs/faults.json; FaultCatalogTests fails until
# this has been run after an edit.
catalog:
	python3 scripts/gen-fault-catalog.py

# The commissioning limits lockdiagd ships with are compiled from firmware-specs/commissioning.json;
# CommissioningLimitsTests fails until this has been run after an edit.
commissioning-limits:
	python3 scripts/gen-commissioning-limits.py

# Golden frames from the independent Python reference encoder.
vectors:
	python3 firmware-specs/tools/ldp.py vectors > firmware-specs/vectors/frames.json

# Poll-loop benchmark (not a test; README "Benchmarks"), ~1.5 min: 16 locks at 1 kHz and 256
# locks at 100 Hz, default scheduling and --realtime, 3 runs each, cyclictest (rt-tests) beside
# each run at the same rate and policy: the loop's p99 lateness as a ratio to cyclictest's, CPU
# per lock-poll, heap allocations per cycle on the loop thread (the malloc interposer preloaded;
# exits 3 if any). BENCH_ARGS picks points, e.g. BENCH_ARGS="--points 16@1000 --modes default".
bench: deps
	@dpkg-query -W -f='$${Status}' rt-tests 2>/dev/null | grep -q "ok installed" || \
	    { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq rt-tests; }
	$(SWIFT) build -c release --product lockdiag-bench
	LD_PRELOAD=$(CURDIR)/.build/release/libMallocInterposerSwift.so .build/release/lockdiag-bench --cyclictest $(BENCH_ARGS)

# A signed report of a simulated motor-stall lock rendered by headless Chromium (Debian's
# chromium, installed here when missing), checked for its plots, with a screenshot to look at.
# Not in `make test`: Chromium is a large install. REPORT_CHECK_OUT=DIR keeps the files there.
report-check: deps
	@dpkg-query -W -f='$${Status}' chromium 2>/dev/null | grep -q "ok installed" || \
	    { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }
	$(SWIFT) build
	sh scripts/report-check.sh

# The crash test with many more SIGKILLs than `make test` runs (CRASH_CYCLES, CRASH_SEED).
CRASH_CYCLES ?= 60
crash-soak: deps
	LOCKDIAG_CRASH_CYCLES=$(CRASH_CYCLES) $(if $(CRASH_SEED),LOCKDIAG_CRASH_SEED=$(CRASH_SEED)) $(SWIFT) test --filter CrashDurabilityTests

# Poll-loop allocations with a vendor-bulk USB lock attached (a benchmark, not a test): the
# lock of Tests/Recordings/lock-bulk.umockdev, faked by umockdev, answering a generated URB
# script; the malloc interposer preloaded into lockdiag-usb-bench.
bench-usb: deps
	$(SWIFT) build -c release --product lockdiag-usb-bench
	@mkdir -p .build/bench-usb
	grep -v '^#' Tests/Recordings/lock-bulk.umockdev > .build/bench-usb/lock.umockdev
	python3 scripts/gen-usb-bench-ioctl.py 3000 > .build/bench-usb/lock.ioctl
	umockdev-run --device .build/bench-usb/lock.umockdev --ioctl /dev/bus/usb/001/007=.build/bench-usb/lock.ioctl -- \
	    env LD_PRELOAD=libumockdev-preload.so.0:$(CURDIR)/.build/release/libMallocInterposerSwift.so \
	    .build/release/lockdiag-usb-bench $(BENCH_ARGS)

# The socket API against NUT (a benchmark, not a test; README "Benchmarks"): upsd with dummy-ups
# (Debian's nut-server, installed here when missing) and lockdiagd with simulated locks, both
# started in a temporary folder and driven by the same client, lockdiag-api-bench: round trip and
# pipelined rate of device.status, faults.list, devices.list and NUT's GET VAR, with the ratios, and
# event → 64 telemetry subscribers. BENCH_ARGS adds client options, e.g. BENCH_ARGS="--requests 20000".
bench-api: deps
	$(call install-missing,nut-server)
	$(SWIFT) build -c release --product lockdiagd
	$(SWIFT) build -c release --product lockdiag-api-bench
	BENCH_ARGS="$(BENCH_ARGS)" sh scripts/bench-api.sh

# The fleet's sync into PostgreSQL (a benchmark, not a test; README "The fleet"): a PostgreSQL started
# in a temporary folder and lockdiag-fleet-bench, which enrolls 51 stations and drives the real sync link:
# events/s for one station's backlog, for 50 stations at once, and the sync lag p50/p99 while the
# 50 record live. BENCH_ARGS adds options, e.g. BENCH_ARGS="--events 10000 --live-seconds 60".
bench-fleet: deps
	$(SWIFT) build -c release --product lockdiag-fleet-bench
	BENCH_ARGS="$(BENCH_ARGS)" sh scripts/bench-fleet.sh

# The Tuya product layouts are compiled from firmware-specs/tuya/*.json; TuyaSchemaTests fails
# until this has been run after an edit.
tuya-schemas:
	python3 scripts/gen-tuya-schemas.py
# libFuzzer on every parser that reads bytes from a lock or a client (README "Fuzzing"): each
# target runs FUZZ_SECONDS (default 60) in turn, nice'd, from its committed corpus; a crash stops
# the run with the input saved under Fuzz/crashes/NAME. Not part of `make test`, which replays the
# committed corpora and regressions instead. FUZZ_TARGETS picks some, e.g. FUZZ_TARGETS=ldp-frames.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= ldp-frames ldp-messages hub-records simulator-requests json-text jsonrpc-server jsonrpc-client \
                ble-att gatt-client ble-advertising tuya-frames tuya-records bench-plan report-verify \
                commissioning-limits part-certificates
FUZZ_BUILD   ?= .build-fuzz
FUZZ_SWIFT_FLAGS = -c debug --scratch-path $(FUZZ_BUILD) -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING

fuzz-build: deps
	@for t in $(FUZZ_TARGETS); do $(SWIFT) build $(FUZZ_SWIFT_FLAGS) --product fuzz-$$t || exit 1; done

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TARGETS="$(FUZZ_TARGETS)" sh scripts/fuzz.sh

# Folds the inputs of the working corpora that add coverage into the committed Fuzz/corpus.
fuzz-merge: fuzz-build
	@for t in $(FUZZ_TARGETS); do mkdir -p $(FUZZ_BUILD)/corpus/$$t && \
	    nice -n 19 $(FUZZ_BUILD)/debug/fuzz-$$t -merge=1 -detect_leaks=0 Fuzz/corpus/$$t $(FUZZ_BUILD)/corpus/$$t 2>&1 | tail -1; done

# The seed corpora, from the golden frames and the JSON examples in docs/.
fuzz-seeds:
	python3 Fuzz/make-seeds.py
