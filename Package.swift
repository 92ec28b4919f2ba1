// swift-tools-version:6.1
// The module map is in ../shared/DESIGN.md and docs/architecture.md; keep them in agreement.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "lockdiag",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lockdiagd", targets: ["lockdiagd"]),
        .executable(name: "lockdiag", targets: ["lockdiag"]),
        .executable(name: "locksim", targets: ["locksim"]),
        .library(name: "LockProtocol", targets: ["LockProtocol"]),
        .library(name: "TuyaProtocol", targets: ["TuyaProtocol"]),
        .library(name: "LockSimulator", targets: ["LockSimulator"]),
        .library(name: "LockDaemon", targets: ["LockDaemon"]),
        .library(name: "JSONRPC", targets: ["JSONRPC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // Bench test plans (docs/bench.md) are YAML.
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Counts heap allocations for the benchmark (LD_PRELOADed by `make bench`).
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.0"),
        // The history store (SQLite, WAL, migrations) and the station's Ed25519 report signatures.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // The fleet database link (docs/fleet.md): PostgreSQL's wire protocol on NIO.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // System libraries, one line of umbrella header each. apt providers named for SwiftPM's hint.
        .systemLibrary(name: "CLibUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CBlueZ", pkgConfig: "bluez", providers: [.apt(["libbluetooth-dev"])]),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        // libc calls Swift cannot import (variadic prctl/ioctl, CPU_SET macros, _GNU_SOURCE pty calls).
        .target(name: "CLockDiagSys"),

        .target(name: "LockProtocol", swiftSettings: swift6),
        // The Tuya MCU serial dialect (firmware-specs/tuya-mcu.md): frames, DP codec, both variants. No I/O, no Foundation.
        .target(name: "TuyaProtocol", swiftSettings: swift6),
        // The pcapng capture format (IETF draft-ietf-opsawg-pcapng) that `lockdiagd --record` writes. Pure.
        .target(name: "PcapNG", swiftSettings: swift6),
        // Typed wrappers over the Linux calls the transports, the simulator and the poll loop share.
        .target(name: "LinuxIO", dependencies: ["CLockDiagSys"], swiftSettings: swift6),
        .target(name: "SerialTransport", dependencies: ["LockProtocol", "LinuxIO"], swiftSettings: swift6),
        // Vendor-bulk USB locks over libusb (firmware-specs/usb.md), with its own event thread.
        .target(name: "USBTransport", dependencies: ["LockProtocol", "LinuxIO", "CLibUSB", "CLockDiagSys"], swiftSettings: swift6),
        // udev enumeration and hotplug monitoring of locks, with stable identities.
        .target(name: "DeviceDiscovery", dependencies: ["CUdev", "LinuxIO"], swiftSettings: swift6),
        // Bluetooth LE wire formats: ATT PDUs, GATT declarations, advertising data, HCI advertising
        // reports, the LDP GATT service. Pure (no I/O), like LockProtocol.
        .target(name: "BLEProtocol", swiftSettings: swift6),
        // BLE locks: the ATT/GATT client, L2CAP and HCI through libbluetooth, the link the poll loop drives.
        .target(name: "BLETransport", dependencies: ["BLEProtocol", "LockProtocol", "LinuxIO", "CBlueZ"], swiftSettings: swift6),
        // An emulated lock controller (physical model, scenarios, fault injection), its pty server, its BLE GATT server
        // (on the seam, or on a real controller through BlueZ's headers) and its Tuya lock-MCU head.
        .target(name: "LockSimulator", dependencies: ["LockProtocol", "LinuxIO", "BLEProtocol", "TuyaProtocol", "CBlueZ", "GenuineParts",
                                                      .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swift6),
        // The one JSON stack: the value tree, the strict parser, the compact, pretty and RFC 8785 writers, and
        // the direct Encodable → bytes encoder and JSONValue → Decodable decoder. A leaf: no Foundation.
        .target(name: "LockJSON", swiftSettings: swift6),
        // JSON-RPC 2.0 over a Unix stream socket, one JSON text per line: the API's transport.
        .target(name: "JSONRPC", dependencies: [
            "LockJSON",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            "LinuxIO",
        ], swiftSettings: swift6),
        // The socket API's request and result types, shared by the daemon and its clients.
        .target(name: "LockDiagAPI", swiftSettings: swift6),
        // The CLI's views: pure functions from API types to text (tables, units, sparklines), unit-tested.
        .target(name: "LockDiagCLI", dependencies: ["LockDiagAPI", "JSONRPC"], swiftSettings: swift6),
        // Bench test plans: the YAML model, parser and validator, limits, and the result writers
        // (JUnit XML, CSV, summary, progress lines) of `lockdiag bench run`.
        .target(name: "BenchKit", dependencies: ["LockDiagAPI", "LockDiagCLI", "LinuxIO", .product(name: "Yams", package: "Yams")],
                swiftSettings: swift6),
        // The history store: devices, fault events, self-test runs and a bounded telemetry log in SQLite.
        .target(name: "HistoryStore", dependencies: ["LockDiagAPI", "LockJSON", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: swift6),
        // Signed diagnostic reports: canonical JSON, Ed25519 signing and verification, the HTML page. Pure, so the
        // CLI verifies without a daemon.
        .target(name: "Reports", dependencies: ["LockDiagAPI", "LockJSON", "LinuxIO", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swift6),
        // Genuine-part checks (firmware-specs/ldp-v1.md §6.9): trusted maker roots, certificate chains and
        // challenge answers verified with Ed25519, and the simulator's demo maker that issues its parts.
        .target(name: "GenuineParts", dependencies: ["LockProtocol", "LockJSON", "LockDiagAPI", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: swift6),
        // The fleet (docs/fleet.md): the PostgreSQL schema and roles, the station's sync of its history, station
        // key enrollment and the fleet's questions. Its own event loop, so nothing it waits for blocks the daemon.
        .target(name: "FleetSync", dependencies: [
            "HistoryStore", "LockDiagAPI", logging,
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: swift6),
        .target(name: "LockDaemon", dependencies: [
            "LockProtocol", "LinuxIO", "SerialTransport", "LockDiagAPI", "JSONRPC", "LockJSON", "CLockDiagSys", logging,
            "HistoryStore", "Reports", "BLEProtocol", "BLETransport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            // `lockdiagd --metrics`: the Prometheus endpoint's HTTP/1.
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            "USBTransport", "DeviceDiscovery",
            "TuyaProtocol",
            // `lockdiagd --record`: pcapng files of every link's bytes (Recording/).
            "PcapNG",
            "GenuineParts",
        ], swiftSettings: swift6),

        // Every numeric command-line option's documented range, checked in one place (exit 64 outside it).
        .target(name: "OptionRanges", dependencies: [argumentParser], swiftSettings: swift6),
        .executableTarget(name: "lockdiagd", dependencies: ["LockDaemon", "LockSimulator", "LinuxIO", "BLEProtocol", "BLETransport", argumentParser, logging,
                                                         "LockDiagAPI", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                         "OptionRanges",
                                                         "DeviceDiscovery", "USBTransport", "FleetSync", "GenuineParts"], swiftSettings: swift6),
        .executableTarget(name: "lockdiag", dependencies: ["LockDiagAPI", "LockDiagCLI", "JSONRPC", "LockJSON", "BenchKit", "Reports", "BLEProtocol", "BLETransport", "LinuxIO", argumentParser,
                                                        "OptionRanges", "FleetSync", "PcapNG"], swiftSettings: swift6),
        .executableTarget(name: "locksim", dependencies: ["LockSimulator", argumentParser, "OptionRanges"], swiftSettings: swift6),
        // `make bench`: poll-loop lateness and allocations per cycle (a benchmark, not a test).
        .executableTarget(name: "lockdiag-bench", dependencies: [
            "LockDaemon", "LockSimulator", "LinuxIO", "CLockDiagSys", "BLETransport", argumentParser, logging,
            .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
        ], path: "Benchmarks/PollLoopBenchmark", swiftSettings: swift6),
        // `make bench-usb`: poll-loop allocations with a vendor-bulk USB lock (faked by umockdev).
        .executableTarget(name: "lockdiag-usb-bench", dependencies: [
            "LockDaemon", "USBTransport", "LinuxIO", "CLockDiagSys", argumentParser, logging,
            .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
        ], path: "Benchmarks/USBLinkBenchmark", swiftSettings: swift6),
        // `make bench-api`: the socket API's round trip and pipelined rate against NUT's upsd, and
        // telemetry fan-out to 64 subscribers (a benchmark, not a test; scripts/bench-api.sh).
        .executableTarget(name: "lockdiag-api-bench", dependencies: ["LinuxIO", argumentParser],
                          path: "Benchmarks/APIBenchmark", swiftSettings: swift6),

        // `make bench-fleet`: fleet sync events/s into PostgreSQL, one station and many at once, and the sync lag
        // (a benchmark, not a test; scripts/bench-fleet.sh starts the database).
        .executableTarget(name: "lockdiag-fleet-bench", dependencies: ["FleetSync", "HistoryStore", "LockDiagAPI", argumentParser, logging],
                          path: "Benchmarks/FleetBenchmark", swiftSettings: swift6),

        .target(name: "LockDiagTestSupport", path: "Tests/LockDiagTestSupport", swiftSettings: swift6),
        .testTarget(name: "CModulesTests", dependencies: ["CLibUSB", "CBlueZ", "CUdev", "CLockDiagSys"], swiftSettings: swift6),
        .testTarget(name: "LinuxIOTests", dependencies: ["LinuxIO", "LockDiagTestSupport"], swiftSettings: swift6),
        .testTarget(name: "LockProtocolTests", dependencies: ["LockProtocol", "LockDiagTestSupport"], swiftSettings: swift6),
        // Part certificates, chains and answers against the golden vectors and the trust roots in firmware-specs/parts/.
        .testTarget(name: "GenuinePartsTests", dependencies: ["GenuineParts", "LockProtocol", "LockDiagTestSupport", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swift6),
        // ATT, GATT, advertising data (on real captured payloads) and HCI report codecs.
        .testTarget(name: "BLEProtocolTests", dependencies: ["BLEProtocol", "LockDiagTestSupport"], swiftSettings: swift6),
        // The GATT client, set-up and link against the simulator's GATT server over real seqpacket sockets.
        .testTarget(name: "BLETransportTests", dependencies: [
            "BLETransport", "BLEProtocol", "LockSimulator", "LockProtocol", "LinuxIO", "LockDiagTestSupport",
        ], swiftSettings: swift6),
        .testTarget(name: "TuyaProtocolTests", dependencies: ["TuyaProtocol", "LockDiagTestSupport"], swiftSettings: swift6),
        .testTarget(name: "SerialTransportTests", dependencies: ["SerialTransport", "LinuxIO", "LockProtocol"], swiftSettings: swift6),
        .testTarget(name: "LockSimulatorTests", dependencies: ["LockSimulator", "LockProtocol", "LinuxIO", "LockDiagTestSupport", "BLEProtocol", "TuyaProtocol", "GenuineParts"],
                    swiftSettings: swift6),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "LockDiagTestSupport"], swiftSettings: swift6),
        // The JSON stack: parser, writers, and the encoder and decoder checked against Foundation's on every API type.
        .testTarget(name: "LockJSONTests", dependencies: ["LockJSON", "LockDiagAPI", "LockDiagTestSupport"], swiftSettings: swift6),
        // Real processes (lockdiagd, lockdiag, locksim) over real ptys and sockets.
        // The lockdiag CLI: its views as units, and the real binary against a real lockdiagd.
        .testTarget(name: "CLITests", dependencies: ["LockDiagCLI", "LockDiagAPI", "JSONRPC", "LockDiagTestSupport"], swiftSettings: swift6),
        .testTarget(name: "EndToEndTests", dependencies: ["JSONRPC", "LinuxIO", "LockDiagAPI", "LockDiagTestSupport", "HistoryStore"], swiftSettings: swift6),
        // The history store, signed reports (canonical JSON, sign/verify/tamper, HTML) and the crash test with a real lockdiagd.
        .testTarget(name: "HistoryTests", dependencies: [
            "HistoryStore", "Reports", "LockDiagAPI", "LockDiagCLI", "JSONRPC", "LockJSON", "LockDiagTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            "LockDaemon", logging,
        ], swiftSettings: swift6),
        .testTarget(name: "USBTransportTests", dependencies: ["USBTransport", "LockDiagTestSupport", "CLibUSB", "LockProtocol"], swiftSettings: swift6),
        .testTarget(name: "DeviceDiscoveryTests", dependencies: ["DeviceDiscovery", "LockDiagTestSupport"], swiftSettings: swift6),
        // Test-only: an umockdev testbed driven over stdin (hotplug uevents, tty nodes in front of
        // simulator ptys); loads libumockdev at run time so building never needs it.
        .executableTarget(name: "lockdiag-usb-testbed", path: "TestTools/USBTestbed"),
        .testTarget(name: "LockDaemonTests", dependencies: [
            "LockDaemon", "LockDiagAPI", "LockProtocol", "LockSimulator", "LinuxIO", "SerialTransport", "LockDiagTestSupport", logging,
            "DeviceDiscovery",
            "BLETransport",
            "JSONRPC", "TuyaProtocol", "HistoryStore",
        ], swiftSettings: swift6),
        // Recordings: the pcapng writer and `lockdiagd --record` files, read by Debian's real tshark.
        .testTarget(name: "RecordingTests", dependencies: ["PcapNG", "LockDiagTestSupport", "JSONRPC", "LockDiagAPI", "LockDaemon"], swiftSettings: swift6),
        // Bench plans, limits and result writers; the JUnit XML is checked with xmllint against a schema.
        .testTarget(name: "BenchKitTests", dependencies: ["BenchKit", "LockDiagAPI", "LockDiagTestSupport"], swiftSettings: swift6),
        // The fleet against a real PostgreSQL (Debian's postgresql, started by the tests in a temporary folder):
        // schema and roles, sync from real lockdiagd processes, outages, SIGKILL, row-level security, key revocation.
        .testTarget(name: "FleetTests", dependencies: [
            "FleetSync", "HistoryStore", "LockDiagAPI", "JSONRPC", "Reports", "LockDiagTestSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], swiftSettings: swift6),
        // The API benchmark's reply parsing (JSON-RPC lines, NUT's VAR answer, updated_at).
        .testTarget(name: "APIBenchmarkTests", dependencies: ["lockdiag-api-bench"], swiftSettings: swift6),
    ]
)

// Fuzzing (`make fuzz`, README "Fuzzing"): each target's logic lives in LockDiagFuzz; each libFuzzer
// entry point is a one-file executable `fuzz-NAME` under Fuzz/Targets. A plain build makes them
// corpus-replay tools; `make fuzz` rebuilds them with -sanitize=fuzzer,address -DFUZZING in its own
// scratch directory. FuzzRegressionTests replays the committed corpora and crash inputs in `swift test`.
let fuzzTargetNames = [
    "ldp-frames", "ldp-messages", "hub-records", "simulator-requests", "json-text", "jsonrpc-server", "jsonrpc-client",
    "ble-att", "gatt-client", "ble-advertising", "tuya-frames", "tuya-records", "bench-plan", "report-verify", "commissioning-limits",
    "part-certificates",
]
package.targets += [
    .target(name: "LockDiagFuzz", dependencies: [
        "LockProtocol", "LockDaemon", "LockSimulator", "JSONRPC", "LockJSON", "LockDiagAPI", "LockDiagCLI", "BLEProtocol", "BLETransport",
        "TuyaProtocol", "BenchKit", "Reports", "CLibFuzzer", logging, "GenuineParts",
    ], swiftSettings: swift6),
    .testTarget(name: "FuzzRegressionTests", dependencies: ["LockDiagFuzz", "LockDiagTestSupport", "Reports"], swiftSettings: swift6),
    // Declares libFuzzer's LLVMFuzzerRunDriver, which the -sanitize=fuzzer runtime defines.
    .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
] + fuzzTargetNames.map { name in
    .executableTarget(name: "fuzz-\(name)", dependencies: ["LockDiagFuzz"], path: "Fuzz/Targets/fuzz-\(name)", swiftSettings: swift6)
}
