import Foundation
import LockDiagTestSupport
import Testing

/// scripts/check-imports.py (run first by `make test`): an import of a package module the
/// target does not declare fails, naming the target and the module; this package passes.
@Suite struct ImportCheckTests {
    static func check(_ packageDirectory: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [TestSupport.repositoryRoot.appendingPathComponent("scripts/check-imports.py").path, packageDirectory]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func anUndeclaredImportIsNamedAndFails() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let manifest = """
            // swift-tools-version:6.1
            import PackageDescription
            let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
            let package = Package(name: "p", dependencies: [.package(url: "https://github.com/apple/swift-log", from: "1.6.0")], targets: [
                .target(name: "Low"),
                .target(name: "Middle", dependencies: ["Low", logging]),
                // Reaches Low and Logging only through Middle.
                .target(name: "Top", dependencies: ["Middle"]),
                .testTarget(name: "TopTests", dependencies: [.target(name: "Top")]),
            ])
            """
        let files = [
            "Package.swift": manifest,
            "Sources/Low/Low.swift": "import Foundation\n",
            "Sources/Middle/Middle.swift": "import Low\nimport Logging\n",
            "Sources/Top/Top.swift": "import Middle\n@_spi(X) import Low\n#if canImport(Glibc)\nimport Glibc\n#endif\n",
            "Tests/TopTests/TopTests.swift": "@testable import Top\nimport Logging\nimport Testing\n",
        ]
        for (path, text) in files {
            let url = URL(fileURLWithPath: directory.path).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let (status, output) = try Self.check(directory.path)
        #expect(status == 1)
        #expect(output.contains("Top: imports Low (Sources/Top/Top.swift) but does not declare it"), "\(output)")
        #expect(output.contains("TopTests: imports Logging (Tests/TopTests/TopTests.swift) but does not declare it"), "\(output)")
        // Declared ones and the toolchain's (Foundation, Glibc, Testing) are not listed.
        #expect(!output.contains("Middle:") && !output.contains("Glibc") && !output.contains("Testing") && !output.contains("imports Top "))
    }

    /// The daemon core never links the simulator: `lockdiagd --simulate` composes it at the edge
    /// (docs/architecture.md, EmbeddedLocks).
    @Test func theDaemonCoreDoesNotLinkTheSimulator() throws {
        let sources = TestSupport.repositoryRoot.appendingPathComponent("Sources/LockDaemon")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10)
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            #expect(!text.contains("import LockSimulator"), "Sources/LockDaemon/\(file) imports LockSimulator")
        }
        let manifest = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let start = try #require(manifest.range(of: ".target(name: \"LockDaemon\""))
        let target = manifest[start.lowerBound...].prefix { $0 != "]" }
        #expect(!target.contains("\"LockSimulator\""), "LockDaemon depends on LockSimulator in Package.swift")
    }

    @Test func thisPackageDeclaresEveryModuleItImports() throws {
        let (status, output) = try Self.check(TestSupport.repositoryRoot.path)
        #expect(status == 0, "\(output)")
    }
}
