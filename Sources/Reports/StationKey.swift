import Crypto
import Foundation
import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// Why the station key could not be used, with what to do.
public enum StationKeyError: Error, Sendable, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notAKey(path: String)
    case tooOpen(path: String, mode: String)
    case wrongOwner(path: String, owner: UInt32, expected: UInt32)
    case symbolicLink(path: String)
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read the station key \(path): \(reason) — check its owner and permissions"
        case .notAKey(let path):
            "\(path) is not a lockdiag station key (expected a 'private: BASE64' line) — move it aside and restart lockdiagd to make a new key"
        case .tooOpen(let path, let mode):
            "the station key \(path) is readable by others (mode \(mode)) — run `chmod 600 \(path)`; anyone who read it can sign reports as this station"
        case .wrongOwner(let path, let owner, let expected):
            "the station key \(path) belongs to uid \(owner), not to lockdiagd's uid \(expected) — run `chown \(expected) \(path)` if it is "
                + "this station's key; whoever owns it can read it and sign reports as this station"
        case .symbolicLink(let path):
            "the station key \(path) is a symbolic link — give the key file's real path with --key; lockdiagd does not follow a link to its private key"
        case .cannotCreate(let path, let reason): "cannot create the station key \(path): \(reason) — check the folder's permissions or give --key PATH"
        }
    }
}

/// The diagnostic station's Ed25519 signing key (RFC 8032), kept in a 0600 text file:
///
///     # lockdiag station key (Ed25519) …
///     private: <base64 of the 32-byte seed>
///     public: <base64 of the 32-byte public key>
public struct StationKey: Sendable {
    /// The 32-byte seed; kept as bytes because swift-crypto's key type is not Sendable.
    private let seed: [UInt8]
    public let path: String
    public let publicKey: PublicKeyText

    init(privateKey: Curve25519.Signing.PrivateKey, path: String) {
        seed = [UInt8](privateKey.rawRepresentation)
        publicKey = PublicKeyText(raw: [UInt8](privateKey.publicKey.rawRepresentation))
        self.path = path
    }

    /// Loads the key at `path`, or creates one there (mode 0600) if there is none.
    public static func loadOrCreate(path: String) throws(StationKeyError) -> (key: StationKey, created: Bool) {
        let fd = openKey(path)
        if fd < 0 && errno == ENOENT { return (try create(path: path), true) }
        return (try load(opened: fd, error: errno, path: path), false)
    }

    public static func load(path: String) throws(StationKeyError) -> StationKey {
        let fd = openKey(path)
        return try load(opened: fd, error: errno, path: path)
    }

    /// Opens the key file itself, never a link to it, and never blocking (a FIFO is refused below).
    static func openKey(_ path: String) -> Int32 { open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }

    /// Checks and reads the key through the one descriptor `openKey` opened, so the file whose
    /// owner and mode were checked is the file read: a regular file, owned by this process's
    /// user, that group and others cannot read.
    static func load(opened fd: Int32, error: Int32, path: String) throws(StationKeyError) -> StationKey {
        guard fd >= 0 else {
            if error == ELOOP { throw .symbolicLink(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(error)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
        guard info.st_uid == geteuid() else { throw .wrongOwner(path: path, owner: info.st_uid, expected: geteuid()) }
        if info.st_mode & 0o077 != 0 { throw .tooOpen(path: path, mode: String(info.st_mode & 0o777, radix: 8)) }
        guard let bytes = readAll(fd, limit: 65_536) else { throw .unreadable(path: path, reason: "read failed or larger than 64 KiB") }
        guard let seed = field("private", in: String(decoding: bytes, as: UTF8.self)).flatMap({ Data(base64Encoded: $0) }), seed.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else { throw .notAKey(path: path) }
        return StationKey(privateKey: key, path: path)
    }

    /// Makes a new key and writes it with O_EXCL and mode 0600, synced, so a crash leaves either
    /// no key or a whole one.
    public static func create(path: String) throws(StationKeyError) -> StationKey {
        let key = Curve25519.Signing.PrivateKey()
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
            } catch {
                throw .cannotCreate(path: path, reason: "\(error)")
            }
        }
        let publicText = PublicKeyText(raw: [UInt8](key.publicKey.rawRepresentation))
        let text = """
            # lockdiag station key (Ed25519, RFC 8032). It signs this station's diagnostic reports: keep it private.
            # Fingerprint \(publicText.fingerprint); `lockdiag verify --key` takes the public line's value.
            private: \(key.rawRepresentation.base64EncodedString())
            public: \(publicText.base64)

            """
        let temporary = path + ".new-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            unlink(temporary)
            throw .cannotCreate(path: path, reason: "short write or fsync failed")
        }
        // link(2) fails if someone else made the key meanwhile: theirs wins, ours is dropped.
        if link(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            if errno == EEXIST { return try load(path: path) }
            throw .cannotCreate(path: path, reason: reason)
        }
        unlink(temporary)
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
        return StationKey(privateKey: key, path: path)
    }

    /// The Ed25519 signature of `message`.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        [UInt8](try Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: message))
    }

    static func field(_ name: String, in text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(name + ":") {
                return trimmed.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}

/// An Ed25519 public key as reports and `lockdiag verify --key` write it.
public struct PublicKeyText: Sendable, Equatable {
    public let raw: [UInt8]

    public init(raw: [UInt8]) { self.raw = raw }

    /// From base64 of the 32 key bytes; nil for anything else.
    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else { return nil }
        raw = [UInt8](data)
    }

    public var base64: String { Data(raw).base64EncodedString() }

    /// `SHA256:` plus the unpadded base64 of SHA-256 over the 32 key bytes.
    public var fingerprint: String { Self.fingerprint(of: raw) }

    public static func fingerprint(of raw: [UInt8]) -> String {
        let digest = Data(SHA256.hash(data: raw)).base64EncodedString()
        return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }
}

/// One trusted key: a public key (base64) or its fingerprint (`SHA256:…`).
public enum TrustedKey: Sendable, Equatable {
    case key(PublicKeyText)
    case fingerprint(String)

    /// Reads `text` as a key, a fingerprint or a file path (what `lockdiag verify --key` takes; a
    /// station key file's `public:` line counts); nil if it is none of them.
    public static func parse(_ text: String) -> TrustedKey? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let key = token(trimmed) { return key }
        guard let data = FileManager.default.contents(atPath: trimmed) else { return nil }
        let content = String(decoding: data, as: UTF8.self)
        if let line = StationKey.field("public", in: content), let key = PublicKeyText(base64: line) { return .key(key) }
        for line in content.split(whereSeparator: \.isNewline) {
            let value = line.trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("#") || value.isEmpty || value.hasPrefix("private:") { continue }
            if let key = token(value) { return key }
        }
        return nil
    }

    /// A base64 public key or a well-formed fingerprint (`SHA256:` and 43 base64 characters).
    static func token(_ text: String) -> TrustedKey? {
        if text.hasPrefix("SHA256:") {
            let digest = text.dropFirst(7)
            guard digest.count == 43, let raw = Data(base64Encoded: digest + "="), raw.count == 32 else { return nil }
            return .fingerprint(text)
        }
        return PublicKeyText(base64: text).map { .key($0) }
    }

    public var fingerprint: String {
        switch self {
        case .key(let key): key.fingerprint
        case .fingerprint(let f): f
        }
    }
}

/// Why a trusted-keys file cannot be used, with what to do.
public enum TrustedKeysError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case unsafe(path: String, reason: String)
    case badLine(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read the trusted keys \(path): \(reason)"
        case .unsafe(let path, let reason): "the trusted keys \(path) \(reason): whoever can change it can make their own key trusted"
        case .badLine(let path, let line, let reason):
            "\(path) line \(line): \(reason) — each line is a station's public key (base64, as `lockdiag key --public` prints it) "
                + "or its SHA256: fingerprint, a space, and the station's name; # starts a comment"
        }
    }
}

/// The station keys whose signatures a verifier accepts as "made by that station", each with the
/// station's name: `lockdiag verify --key`, or a trusted-keys file (docs/reports.md):
///
///     # public key (or SHA256: fingerprint)          station name
///     TGqcORDc8HIVxGm3bwAzjgaN8Zv0gH49Lwf5CIovI8w=   bench-3, workshop Hamburg
public struct TrustedKeys: Sendable, Equatable {
    /// A trusted key and the station it belongs to.
    public struct Entry: Sendable, Equatable {
        public var key: TrustedKey
        public var station: String

        public init(key: TrustedKey, station: String) {
            self.key = key
            self.station = station
        }
    }

    public var entries: [Entry]

    public init(_ entries: [Entry] = []) { self.entries = entries }

    /// Where `lockdiag verify` reads trusted keys when neither --key nor --trusted-keys is given.
    public static let defaultPath = "/etc/lockdiag/trusted-keys"
    public static let none = TrustedKeys()

    /// Trusts one public key (what `--key` gives).
    public static func key(_ key: PublicKeyText, station: String = "given with --key") -> TrustedKeys {
        TrustedKeys([Entry(key: .key(key), station: station)])
    }

    /// Trusts one fingerprint.
    public static func fingerprint(_ fingerprint: String, station: String = "given with --key") -> TrustedKeys {
        TrustedKeys([Entry(key: .fingerprint(fingerprint), station: station)])
    }

    /// The station whose key has `fingerprint`, if it is trusted.
    public func station(for fingerprint: String) -> String? {
        entries.first { $0.key.fingerprint == fingerprint }?.station
    }

    /// Reads a trusted-keys text: one key per line, then the station's name; blank lines and
    /// lines starting with # are skipped. Any other line is an error, not skipped: a typo must
    /// not quietly change what is trusted.
    public static func parse(_ text: String, path: String) throws(TrustedKeysError) -> TrustedKeys {
        var entries: [Entry] = []
        // "\r\n" is one Character in Swift, so lines are split on any line break, CRLF included.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let token = String(line.prefix { !$0.isWhitespace })
            guard let key = TrustedKey.token(token) else {
                throw .badLine(path: path, line: index + 1, reason: "'\(token.prefix(60))' is not a public key or a SHA256: fingerprint")
            }
            let station = line.dropFirst(token.count).trimmingCharacters(in: .whitespaces)
            guard !station.isEmpty else { throw .badLine(path: path, line: index + 1, reason: "no station name after the key") }
            entries.append(Entry(key: key, station: station))
        }
        return TrustedKeys(entries)
    }

    /// Reads a trusted-keys file that only its owner — root or the user running lockdiag — can
    /// change: a regular file, not writable by group or others. Checked on the open descriptor
    /// and read from it, so the file checked is the file read.
    public static func load(path: String) throws(TrustedKeysError) -> TrustedKeys {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .unsafe(path: path, reason: "is not a regular file") }
        guard info.st_uid == 0 || info.st_uid == geteuid() else {
            throw .unsafe(path: path, reason: "is owned by uid \(info.st_uid), not by root or you (uid \(geteuid())) — `chown root \(path)`")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw .unsafe(path: path, reason: "is writable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))) — `chmod go-w \(path)`")
        }
        guard let bytes = readAll(fd, limit: 1 << 20) else {
            throw .unreadable(path: path, reason: "read failed or larger than 1 MiB")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .unreadable(path: path, reason: "not UTF-8 text") }
        return try parse(text, path: path)
    }
}

/// All of `fd`'s bytes, up to `limit`; nil on a read error or a longer file.
func readAll(_ fd: Int32, limit: Int) -> [UInt8]? {
    (try? FileIO.readToEnd(fd, limit: limit)) ?? nil
}
