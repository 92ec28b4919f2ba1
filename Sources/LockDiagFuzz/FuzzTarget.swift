import Foundation

/// One libFuzzer target: a name (its executable is `fuzz-NAME`, its corpus Fuzz/corpus/NAME) and
/// the function that reads one input. The function returns the invariants the input broke, in
/// words; an empty list means it was handled as documented. A trap inside is a crash.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What it feeds, for `--help` and the README.
    public let summary: String
    public let run: @Sendable (UnsafeRawBufferPointer) -> [String]

    public init(name: String, summary: String, run: @escaping @Sendable (UnsafeRawBufferPointer) -> [String]) {
        self.name = name
        self.summary = summary
        self.run = run
    }

    /// Every target, in the order `make fuzz` runs them.
    public static let all: [FuzzTarget] = [
        ldpFrames, ldpMessages, hubRecords, simulatorRequests, jsonText, jsonRPCServer, jsonRPCClient,
        bleATT, gattClient, bleAdvertising, tuyaFrames, tuyaRecords, benchPlan, reportVerify, commissioningLimits, partCertificates,
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// The libFuzzer entry: a broken invariant stops the run like a crash does, so libFuzzer
    /// saves the input.
    public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        let findings = run(UnsafeRawBufferPointer(start: data, count: size))
        if !findings.isEmpty { fatalError("fuzz-\(name): " + findings.joined(separator: "; ")) }
    }

    /// The same executable built without libFuzzer: replays files and directories of inputs
    /// through the target (a crash found by `make fuzz` is reproduced with
    /// `.build/debug/fuzz-NAME Fuzz/crashes/NAME/crash-…`). Exits 1 if any input broke an invariant.
    public func replayMain(_ arguments: [String]) -> Never {
        guard !arguments.isEmpty, !arguments.contains("--help"), !arguments.contains("-h") else {
            print("""
                usage: fuzz-\(name) FILE|DIRECTORY...
                \(summary)
                Built without libFuzzer this replays inputs; `make fuzz` builds it with -sanitize=fuzzer,address.
                """)
            exit(arguments.isEmpty ? 64 : 0)
        }
        var inputs = 0
        var failed = 0
        for path in FuzzCorpus.files(in: arguments) {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                failed += 1
                continue
            }
            inputs += 1
            let findings = data.withUnsafeBytes(run)
            if !findings.isEmpty {
                failed += 1
                print("\(path): " + findings.joined(separator: "; "))
            }
        }
        print("fuzz-\(name): \(inputs) input(s), \(failed) broke an invariant")
        exit(failed == 0 ? 0 : 1)
    }
}

/// Corpus files on disk: what the regression tests and the replay mode read.
public enum FuzzCorpus {
    /// Regular files named by `paths`, directories expanded (not recursively), sorted.
    public static func files(in paths: [String]) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        return files
    }
}

/// Reads a fuzz input as a sequence of small fields, so one byte string drives a structured
/// scenario (split points, record kinds, payload lengths). Reading past the end yields zeros.
struct FuzzReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }
    var remaining: Int { max(0, bytes.count - offset) }

    mutating func u8() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }

    /// Up to `count` bytes (fewer at the end).
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let n = min(max(0, count), remaining)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }

    mutating func rest() -> UnsafeRawBufferPointer { take(remaining) }
}
