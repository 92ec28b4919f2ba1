// What the benchmark reads back, checked without building a tree: the client must cost the
// same for both servers, so a JSON-RPC reply line is scanned once for its top-level members and
// a NUT reply is split on its spaces and quotes.

/// One JSON-RPC 2.0 line's top-level shape: a reply (`id` with `result` or `error`) or a
/// notification (`method`, no `id`).
struct JSONRPCLine: Equatable {
    /// The top-level `id` when it is an integer.
    var id: Int?
    var hasResult = false
    var hasError = false
    /// The top-level `method` (a notification's), when it is a string without escapes.
    var method: String?

    /// Scans `line` (without its newline) once; nil when it is not one JSON object (unbalanced,
    /// unterminated string, or not starting with `{`).
    init?(_ line: UnsafeBufferPointer<UInt8>) {
        var i = 0
        let n = line.count
        while i < n, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        guard i < n, line[i] == UInt8(ascii: "{") else { return nil }
        var depth = 0
        var lastKey: Range<Int>?
        var expectingKey = false
        while i < n {
            let c = line[i]
            switch c {
            case UInt8(ascii: "\""):
                let start = i + 1
                i += 1
                while i < n, line[i] != UInt8(ascii: "\"") { i += line[i] == UInt8(ascii: "\\") ? 2 : 1 }
                guard i < n else { return nil }
                let string = start..<i
                if depth == 1 && expectingKey {
                    lastKey = string
                    expectingKey = false
                } else if depth == 1, let key = lastKey, Self.equal(line, key, "method") {
                    method = String(decoding: UnsafeBufferPointer(rebasing: line[string]), as: UTF8.self)
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 1 { expectingKey = true }
                if depth == 2, let key = lastKey {
                    if Self.equal(line, key, "result") { hasResult = true }
                    if Self.equal(line, key, "error") { hasError = true }
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                guard depth >= 0 else { return nil }
                if depth == 0 {
                    guard line[(i + 1)...].allSatisfy({ $0 == 0x20 || $0 == 0x0D }) else { return nil }
                    return
                }
            case UInt8(ascii: ","):
                if depth == 1 { expectingKey = true }
            default:
                if depth == 1, !expectingKey, let key = lastKey, c != UInt8(ascii: ":"), c != 0x20 {
                    // A scalar member: `result` may be one (true, a number, null).
                    if Self.equal(line, key, "result") { hasResult = true }
                    if Self.equal(line, key, "id"), id == nil {
                        var j = i
                        var value = 0
                        var digits = 0
                        while j < n, line[j] >= 0x30, line[j] <= 0x39 {
                            value = value &* 10 &+ Int(line[j] - 0x30)
                            j += 1
                            digits += 1
                        }
                        if digits > 0 { id = value }
                        i = max(i, j - 1)
                    }
                }
            }
            i += 1
        }
        return nil
    }

    init(id: Int? = nil, hasResult: Bool = false, hasError: Bool = false, method: String? = nil) {
        self.id = id
        self.hasResult = hasResult
        self.hasError = hasError
        self.method = method
    }

    init?(_ text: String) {
        var bytes = Array(text.utf8)
        guard let line = bytes.withUnsafeMutableBufferPointer({ JSONRPCLine(UnsafeBufferPointer($0)) }) else { return nil }
        self = line
    }

    private static func equal(_ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for k in 0..<range.count where line[range.lowerBound + k] != p[k] { return false }
        return true
    }
}

/// NUT's answer to `GET VAR <ups> <var>`: `VAR <ups> <var> "<value>"` (NUT network protocol,
/// docs/net-protocol.txt of networkupstools/nut), or `ERR <code>`.
enum NUTReply: Equatable {
    case variable(ups: String, name: String, value: String)
    case error(String)

    init?(_ line: UnsafeBufferPointer<UInt8>) {
        self.init(String(decoding: line, as: UTF8.self))
    }

    init?(_ line: String) {
        if line.hasPrefix("ERR ") {
            self = .error(String(line.dropFirst(4)))
            return
        }
        guard line.hasPrefix("VAR ") else { return nil }
        let rest = line.dropFirst(4)
        let parts = rest.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        let quoted = parts[2]
        guard quoted.count >= 2, quoted.first == "\"", quoted.last == "\"" else { return nil }
        var value = ""
        var escaped = false
        for ch in quoted.dropFirst().dropLast() {
            if escaped { value.append(ch); escaped = false } else if ch == "\\" { escaped = true } else { value.append(ch) }
        }
        guard !escaped else { return nil }
        self = .variable(ups: String(parts[0]), name: String(parts[1]), value: value)
    }
}

/// A `device.status`'s `updated_at` inside a telemetry notification: the hub's wall-clock time of
/// the reading, in milliseconds since the epoch (ISO 8601 UTC with milliseconds, docs/socket-api.md).
enum UpdatedAt {
    static let key: [UInt8] = Array("\"updated_at\":\"".utf8)

    /// The first `"updated_at":"…"` in `line`, in ms since the epoch; nil when absent or malformed.
    static func milliseconds(in line: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = line.count, k = key.count
        guard n >= k else { return nil }
        var i = 0
        outer: while i + k <= n {
            for j in 0..<k where line[i + j] != key[j] { i += 1; continue outer }
            return parse(UnsafeBufferPointer(rebasing: line[(i + k)...]))
        }
        return nil
    }

    /// `2026-11-29T00:27:23.360Z` → ms since the epoch.
    static func parse(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard s.count >= 24, s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"), s[10] == UInt8(ascii: "T"),
              s[13] == UInt8(ascii: ":"), s[16] == UInt8(ascii: ":"), s[19] == UInt8(ascii: "."), s[23] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard s[i] >= 0x30, s[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(s[i] - 0x30)
            }
            return v
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), let millis = number(20, 3),
              (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        // Days from civil (Howard Hinnant's public-domain algorithm, chrono-compatible dates).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    }

    static func milliseconds(in text: String) -> Int64? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { milliseconds(in: UnsafeBufferPointer($0)) }
    }
}
