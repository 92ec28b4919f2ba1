import Foundation

/// Helpers the test targets share: repository paths, a seeded generator, deadline waits.
public enum TestSupport {
    /// The package root (the folder holding Package.swift).
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public static func firmwareSpec(_ relativePath: String) -> URL {
        repositoryRoot.appendingPathComponent("firmware-specs").appendingPathComponent(relativePath)
    }

    /// Polls `condition` until it holds or `seconds` pass; returns whether it held.
    /// Tests wait for the event with a deadline, never for a fixed time.
    public static func wait(upTo seconds: Double, pollEvery interval: Double = 0.01, until condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: interval)
        }
        return try condition()
    }

    /// The async form of `wait`.
    public static func wait(upTo seconds: Double, pollEvery interval: Double = 0.02, until condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
        return try await condition()
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator for reproducible tests.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    public init(hex: String) {
        var bytes = [UInt8]()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self = bytes
    }

    public var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
