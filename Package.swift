// swift-tools-version:6.1
// The module map is in ../shared/DESIGN.md; keep the two in agreement.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "lockdiag",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LockProtocol", targets: ["LockProtocol"]),
        .library(name: "JSONRPC", targets: ["JSONRPC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
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
        // JSON-RPC 2.0 over a Unix stream socket, one JSON text per line: the daemon's API transport.
        .target(
            name: "JSONRPC",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                "LinuxIO",
            ],
            swiftSettings: swift6
        ),

        .target(name: "LockDiagTestSupport", path: "Tests/LockDiagTestSupport", swiftSettings: swift6),
        .testTarget(name: "CModulesTests", dependencies: ["CLibUSB", "CBlueZ", "CUdev", "CLockDiagSys"], swiftSettings: swift6),
        .testTarget(name: "LinuxIOTests", dependencies: ["LinuxIO"], swiftSettings: swift6),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "LockDiagTestSupport"], swiftSettings: swift6),
        .testTarget(name: "LockProtocolTests", dependencies: ["LockProtocol", "LockDiagTestSupport"], swiftSettings: swift6),
    ]
)
