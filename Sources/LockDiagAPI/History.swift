#if canImport(Glibc)
import Glibc
#endif

// The history and report methods (docs/socket-api.md, docs/reports.md): `faults.history`,
// `report.create`, `station.info`. Kept in a file of their own so the older API files stay as
// they are.

extension APIMethod {
    public static let faultsHistory = "faults.history"
    public static let reportCreate = "report.create"
    public static let stationInfo = "station.info"
}

/// `faults.history` parameters.
public struct FaultsHistoryParams: Codable, Sendable, Equatable {
    public var device: String
    /// Only events at or after this time (ISO 8601, UTC); all when absent.
    public var since: String?
    /// At most this many events in this page, the newest ones (default `defaultLimit`,
    /// at most `maxLimit`).
    public var limit: Int?
    /// The previous page's `next_cursor`: this page holds the events older than that page's.
    public var cursor: String?

    public static let defaultLimit = 500
    public static let maxLimit = 1000

    public init(device: String, since: String? = nil, limit: Int? = nil, cursor: String? = nil) {
        self.device = device
        self.since = since
        self.limit = limit
        self.cursor = cursor
    }
}

/// What happened to a fault: the lifecycle transitions of `faults.list` plus a technician's clear.
public enum FaultEventKind: String, Codable, Sendable, CaseIterable {
    /// First failed check: pending.
    case raised
    /// Failed again after it had healed: pending again.
    case reoccurred
    case confirmed
    case healed
    /// Removed from the active faults by `faults.clear` (who asked is in `cleared_by`).
    case cleared
    /// Not a fault's transition: a gap. Events of this device that were never written (the
    /// daemon's queue was full while the disk refused writes, or the database refused them):
    /// `count` of them between `first_seen` and `at`, what they were in `evidence`.
    case lost
}

/// One entry of a device's fault history, as it was committed to the history database.
public struct FaultEvent: Codable, Sendable, Equatable {
    /// Row id, increasing in commit order.
    public var id: Int64
    public var device: String
    public var code: String
    public var name: String
    public var title: String
    public var severity: String
    public var event: FaultEventKind
    /// The fault's status after the event; nil for `cleared`.
    public var status: FaultStatus?
    /// When the event happened (ISO 8601, UTC).
    public var at: String
    /// The fault as `faults.list` showed it right after the event.
    public var count: Int
    public var firstSeen: String
    public var source: String
    public var evidence: String
    public var freezeFrame: FreezeFrame?
    public var advice: String
    /// `cleared`: who asked (`uid 1000, pid 4242`).
    public var clearedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, device, code, name, title, severity, event, status, at, count, source, evidence, advice
        case firstSeen = "first_seen"
        case freezeFrame = "freeze_frame"
        case clearedBy = "cleared_by"
    }

    public init(id: Int64 = 0, device: String, code: String, name: String, title: String, severity: String, event: FaultEventKind,
                status: FaultStatus?, at: String, count: Int, firstSeen: String, source: String, evidence: String,
                freezeFrame: FreezeFrame?, advice: String, clearedBy: String? = nil) {
        self.id = id
        self.device = device
        self.code = code
        self.name = name
        self.title = title
        self.severity = severity
        self.event = event
        self.status = status
        self.at = at
        self.count = count
        self.firstSeen = firstSeen
        self.source = source
        self.evidence = evidence
        self.freezeFrame = freezeFrame
        self.advice = advice
        self.clearedBy = clearedBy
    }
}

/// A firmware version a device reported, and when.
public struct FirmwareSeen: Codable, Sendable, Equatable {
    public var version: String
    public var firstSeen: String
    public var lastSeen: String

    enum CodingKeys: String, CodingKey {
        case version
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }

    public init(version: String, firstSeen: String, lastSeen: String) {
        self.version = version
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// A device as the history knows it: what it said on IDENTIFY, and since when.
public struct DeviceRecord: Codable, Sendable, Equatable {
    public var id: String
    public var serial: String?
    public var model: String?
    public var hardwareRevision: String?
    public var transport: String?
    public var path: String?
    public var firstSeen: String
    public var lastSeen: String
    /// Oldest first.
    public var firmware: [FirmwareSeen]

    enum CodingKeys: String, CodingKey {
        case id, serial, model, transport, path, firmware
        case hardwareRevision = "hardware_revision"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }

    public init(id: String, serial: String?, model: String?, hardwareRevision: String?, transport: String?, path: String?,
                firstSeen: String, lastSeen: String, firmware: [FirmwareSeen]) {
        self.id = id
        self.serial = serial
        self.model = model
        self.hardwareRevision = hardwareRevision
        self.transport = transport
        self.path = path
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.firmware = firmware
    }
}

/// `faults.history` result: oldest event first.
public struct FaultHistory: Codable, Sendable, Equatable {
    public var device: String
    public var since: String?
    /// The device's identity and firmware over time; nil if it never identified itself.
    public var record: DeviceRecord?
    public var events: [FaultEvent]
    /// More events matched than `limit`; the oldest were left out (ask again with `nextCursor`).
    public var truncated: Bool
    /// Opaque; passed as `cursor` it gives the next page of older events. nil on the last page.
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case device, since, record, events, truncated
        case nextCursor = "next_cursor"
    }

    public init(device: String, since: String?, record: DeviceRecord?, events: [FaultEvent], truncated: Bool, nextCursor: String? = nil) {
        self.device = device
        self.since = since
        self.record = record
        self.events = events
        self.truncated = truncated
        self.nextCursor = nextCursor
    }
}

/// `station.info` result: the station's signing key and its history database.
public struct StationInfo: Codable, Sendable, Equatable {
    /// The host name reports carry.
    public var host: String
    public var key: StationKeyInfo
    public var history: HistoryInfo

    public init(host: String, key: StationKeyInfo, history: HistoryInfo) {
        self.host = host
        self.key = key
        self.history = history
    }
}

/// The station's public signing key.
public struct StationKeyInfo: Codable, Sendable, Equatable {
    /// `Ed25519`.
    public var algorithm: String
    /// The 32-byte public key, base64 (what `lockdiag verify --key` takes).
    public var publicKey: String
    /// `SHA256:` and the unpadded base64 of the SHA-256 of the 32 public-key bytes.
    public var fingerprint: String
    /// Where the private key is stored (mode 0600).
    public var path: String

    enum CodingKeys: String, CodingKey {
        case algorithm, fingerprint, path
        case publicKey = "public_key"
    }

    public init(algorithm: String, publicKey: String, fingerprint: String, path: String) {
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.fingerprint = fingerprint
        self.path = path
    }
}

/// The history database's figures.
public struct HistoryInfo: Codable, Sendable, Equatable {
    public var path: String
    public var schemaVersion: String
    public var sizeBytes: Int64
    public var devices: Int
    public var faultEvents: Int
    public var testRuns: Int
    public var actuations: Int
    public var statusSamples: Int
    /// Transactions that held fault events, committed before clients were told.
    public var durableCommits: UInt64
    /// Their duration (fsync included), µs.
    public var commitP50Microseconds: Int
    public var commitP99Microseconds: Int
    public var commitMaxMicroseconds: Int
    /// Writes that failed (full disk, I/O error); kept in memory and retried.
    public var writeErrors: UInt64
    public var pendingRecords: Int
    public var lastError: String?
    /// The telemetry log's retention, in words.
    public var retention: String

    enum CodingKeys: String, CodingKey {
        case path, devices, actuations, retention
        case schemaVersion = "schema_version"
        case sizeBytes = "size_bytes"
        case faultEvents = "fault_events"
        case testRuns = "test_runs"
        case statusSamples = "status_samples"
        case durableCommits = "durable_commits"
        case commitP50Microseconds = "commit_p50_us"
        case commitP99Microseconds = "commit_p99_us"
        case commitMaxMicroseconds = "commit_max_us"
        case writeErrors = "write_errors"
        case pendingRecords = "pending_records"
        case lastError = "last_error"
    }

    public init(path: String, schemaVersion: String, sizeBytes: Int64, devices: Int, faultEvents: Int, testRuns: Int, actuations: Int,
                statusSamples: Int, durableCommits: UInt64, commitP50Microseconds: Int, commitP99Microseconds: Int,
                commitMaxMicroseconds: Int, writeErrors: UInt64, pendingRecords: Int, lastError: String?, retention: String) {
        self.path = path
        self.schemaVersion = schemaVersion
        self.sizeBytes = sizeBytes
        self.devices = devices
        self.faultEvents = faultEvents
        self.testRuns = testRuns
        self.actuations = actuations
        self.statusSamples = statusSamples
        self.durableCommits = durableCommits
        self.commitP50Microseconds = commitP50Microseconds
        self.commitP99Microseconds = commitP99Microseconds
        self.commitMaxMicroseconds = commitMaxMicroseconds
        self.writeErrors = writeErrors
        self.pendingRecords = pendingRecords
        self.lastError = lastError
        self.retention = retention
    }
}

/// The API's time format, ISO 8601 in UTC with milliseconds (`2026-11-28T23:50:00.123Z`), both ways.
public enum APITime {
    public static func format(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let ms = Int32(((milliseconds % 1000) + 1000) % 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(ms, 3))Z"
    }

    /// Milliseconds since 1970 of `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]Z` or with a `±HH:MM`
    /// offset; nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= chars.count else { return nil }
            var value = 0
            for c in chars[i..<(i + width)] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            i += width
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0, millis = 0, offsetMinutes = 0
        if i < chars.count {
            guard expect(0x54) || expect(0x20), let h = number(2), expect(0x3A), let m = number(2) else { return nil }
            hour = h
            minute = m
            if expect(0x3A) {
                guard let s = number(2) else { return nil }
                second = s
                if expect(0x2E) {
                    var digits = 0
                    while i < chars.count, chars[i] >= 0x30 && chars[i] <= 0x39 {
                        if digits < 3 { millis = millis * 10 + Int(chars[i] - 0x30) }
                        digits += 1
                        i += 1
                    }
                    guard digits > 0 else { return nil }
                    if digits < 3 { for _ in digits..<3 { millis *= 10 } }
                }
            }
            if expect(0x5A) {
                // UTC
            } else if i < chars.count, chars[i] == 0x2B || chars[i] == 0x2D {
                let sign = chars[i] == 0x2D ? -1 : 1
                i += 1
                guard let oh = number(2), expect(0x3A), let om = number(2) else { return nil }
                offsetMinutes = sign * (oh * 60 + om)
            } else {
                return nil
            }
            guard hour < 24, minute < 60, second < 61 else { return nil }
        }
        guard i == chars.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = Int64(timegm(&parts)) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }
}
