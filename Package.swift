// swift-tools-version:6.1
// The module map is in ../shared/DESIGN.md; keep the two in agreement.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "lockdiag",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LockProtocol", targets: ["LockProtocol"]),
        .library(name: "LockSimulator", targets: ["LockSimulator"]),
        .executable(name: "locksim", targets: ["locksim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // System libraries, one line of umbrella header each. apt providers named for SwiftPM's hint.
        .systemLibrary(name: "CLibUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CBlueZ", pkgConfig: "bluez", providers: [.apt(["libbluetooth-dev"])]),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        // libc calls Swift cannot import (variadic prctl/ioctl, CPU_SET macros).
        .target(name: "CLockDiagSys"),

        .target(name: "LockProtocol", swiftSettings: swift6),
        // Typed wrappers over the Linux calls the transports, the simulator and the poll loop share.
        .target(name: "LinuxIO", dependencies: ["CLockDiagSys"], swiftSettings: swift6),
        .target(name: "SerialTransport", dependencies: ["LockProtocol", "LinuxIO"], swiftSettings: swift6),
        .target(name: "LockDiagAPI", swiftSettings: swift6),
        .target(name: "LockDaemon", dependencies: [
            "LockProtocol", "LinuxIO", "SerialTransport", "LockDiagAPI", "CLockDiagSys",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swift6),
        // An emulated lock controller (physical model, scenarios, fault injection) and its pty server.
        .target(name: "LockSimulator", dependencies: ["LockProtocol", "LinuxIO"], swiftSettings: swift6),
        .executableTarget(
            name: "locksim",
            dependencies: ["LockSimulator", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swift6),

        .target(name: "LockDiagTestSupport", path: "Tests/LockDiagTestSupport", swiftSettings: swift6),
        .testTarget(name: "CModulesTests", dependencies: ["CLibUSB", "CBlueZ", "CUdev", "CLockDiagSys"], swiftSettings: swift6),
        .testTarget(name: "LinuxIOTests", dependencies: ["LinuxIO"], swiftSettings: swift6),
        .testTarget(name: "SerialTransportTests", dependencies: ["SerialTransport", "LinuxIO", "LockProtocol"], swiftSettings: swift6),
        .testTarget(name: "LockDaemonTests", dependencies: ["LockDaemon", "LockDiagAPI", "LockProtocol", "LockSimulator", "LinuxIO", "SerialTransport", "LockDiagTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swift6),
        .testTarget(name: "LockProtocolTests", dependencies: ["LockProtocol", "LockDiagTestSupport"], swiftSettings: swift6),
        .testTarget(
            name: "LockSimulatorTests",
            dependencies: ["LockSimulator", "LockProtocol", "LinuxIO", "LockDiagTestSupport"],
            swiftSettings: swift6),
    ]
)
