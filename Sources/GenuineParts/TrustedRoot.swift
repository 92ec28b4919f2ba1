import Crypto
import Foundation
import LockJSON
import LockProtocol

/// A maker's root key a station trusts (ldp-v1.md §6.9): parts must chain to one whose maker id
/// is the lock's.
public struct TrustedRoot: Sendable, Equatable {
    public var makerID: UInt16
    public var maker: String
    /// Ed25519, 32 bytes.
    public var publicKey: [UInt8]
    /// Where it came from (a file path, "shipped", "demo"), for evidence and logs.
    public var origin: String

    public init(makerID: UInt16, maker: String, publicKey: [UInt8], origin: String) {
        self.makerID = makerID
        self.maker = maker
        self.publicKey = publicKey
        self.origin = origin
    }

    public var keyID: [UInt8] { PartKeys.keyID(publicKey) }
}

/// Why a trust-root file was not accepted.
public struct TrustRootError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String {
        "part trust root \(path): \(reason) — a root file is JSON {\"maker_id\": N, \"maker\": \"…\", \"public_key\": \"64 hex digits\"} (docs/genuine-parts.md)"
    }
}

/// The roots a station trusts: the shipped production roots, any added from a directory, and
/// the simulator's demo root only when asked for.
public struct TrustStore: Sendable {
    public private(set) var roots: [TrustedRoot]

    public init(roots: [TrustedRoot]) { self.roots = roots }

    /// What a station trusts with no configuration: the maker roots shipped in
    /// firmware-specs/parts/roots/, never the demo root.
    public static var shipped: TrustStore { TrustStore(roots: ShippedRoots.all) }

    public mutating func add(_ root: TrustedRoot) {
        if !roots.contains(where: { $0.publicKey == root.publicKey && $0.makerID == root.makerID }) { roots.append(root) }
    }

    /// The root whose key id is `keyID`, if trusted.
    public func root(keyID: [UInt8]) -> TrustedRoot? { roots.first { $0.keyID == keyID } }

    /// Parses one root file's JSON text.
    public static func root(json bytes: [UInt8], path: String) throws(TrustRootError) -> TrustedRoot {
        let value: JSONValue
        do {
            value = try bytes.withUnsafeBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
        } catch {
            throw TrustRootError(path: path, reason: "\(error)")
        }
        guard let maker = value["maker_id"]?.intValue, let makerID = UInt16(exactly: maker) else {
            throw TrustRootError(path: path, reason: "maker_id is missing or not 0–65535")
        }
        guard let hex = value["public_key"]?.stringValue, let key = PartKeys.bytes(hex: hex), key.count == 32 else {
            throw TrustRootError(path: path, reason: "public_key is missing or not 64 hex digits")
        }
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: key)) != nil else {
            throw TrustRootError(path: path, reason: "public_key is not an Ed25519 public key")
        }
        if let stated = value["key_id"]?.stringValue, PartKeys.bytes(hex: stated) != PartKeys.keyID(key) {
            throw TrustRootError(path: path, reason: "key_id does not match public_key (a typo in either?)")
        }
        return TrustedRoot(makerID: makerID, maker: value["maker"]?.stringValue ?? "maker \(makerID)", publicKey: key, origin: path)
    }
}

/// Key ids and hex, shared by the verifier, the demo maker and the tools.
public enum PartKeys {
    /// First 8 bytes of SHA-256 of a public key (§6.9).
    public static func keyID(_ publicKey: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: publicKey).prefix(8)) }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func bytes(hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

extension TrustStore {
    /// The directory a station adds maker roots in, when no `--part-roots` is given.
    public static let defaultDirectory = "/etc/lockdiag/part-roots"

    /// Adds every `*.json` root in `directory`. A missing default directory is nothing to add;
    /// an unreadable file or a bad root is an error naming the file.
    public mutating func load(directory: String, mustExist: Bool = true) throws(TrustRootError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            if mustExist { throw TrustRootError(path: directory, reason: "no such directory") }
            return
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw TrustRootError(path: directory, reason: "cannot list the directory: \(error.localizedDescription)")
        }
        for name in names {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { throw TrustRootError(path: path, reason: "cannot be read") }
            add(try Self.root(json: [UInt8](data), path: path))
        }
    }
}
