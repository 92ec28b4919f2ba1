import Foundation
// NIOSSL (TLSConfiguration, NIOSSLContext) comes re-exported by PostgresNIO.
import PostgresNIO

/// A PostgreSQL connection string as libpq spells it (`postgresql://user:password@host:port/db?sslmode=require`),
/// the subset lockdiag understands: TCP or a Unix socket folder (`?host=/run/postgresql`), password (in the
/// URL or `$PGPASSWORD`), TLS by `sslmode` with `sslrootcert`, and a client certificate (`sslcert`, `sslkey`).
/// Source of the format: PostgreSQL 15 documentation, libpq "Connection URIs" (§34.1.1) and "SSL Support" (§34.19).
public struct FleetURL: Sendable, CustomStringConvertible {
    public var user: String
    public var password: String?
    /// A host name or address for TCP; nil with `socketDirectory` set.
    public var host: String?
    public var socketDirectory: String?
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    public var sslRootCertificate: String?
    public var sslCertificate: String?
    public var sslKey: String?
    public var connectTimeoutSeconds: Int64

    /// libpq's sslmode values; `allow` is read as `prefer`.
    public enum SSLMode: String, Sendable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(FleetError) {
        func bad(_ why: String) -> FleetError { .badURL("\(why) — give postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (docs/fleet.md)") }
        var rest = Substring(text)
        guard let scheme = ["postgresql://", "postgres://"].first(where: { rest.hasPrefix($0) }) else {
            throw bad("'\(Self.redacted(text))' is not a PostgreSQL connection string")
        }
        rest = rest.dropFirst(scheme.count)
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let key = parts[0].removingPercentEncoding, let value = parts[1].removingPercentEncoding else {
                    throw bad("the parameter '\(pair)' is not NAME=VALUE")
                }
                query[key] = value
            }
            rest = rest[..<mark]
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon]).removingPercentEncoding
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else {
                user = String(credentials).removingPercentEncoding
            }
            rest = rest[rest.index(after: at)...]
        }
        var host: String? = rest.isEmpty ? nil : String(rest)
        var port = 5432
        if let h = host, !h.hasPrefix("["), let colon = h.lastIndex(of: ":") {
            guard let p = Int(h[h.index(after: colon)...]), (1...65535).contains(p) else { throw bad("the port in '\(h)' is not a number from 1 to 65535") }
            port = p
            host = String(h[..<colon])
        } else if let h = host, h.hasPrefix("["), let close = h.firstIndex(of: "]") {
            let after = h[h.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw bad("the port in '\(h)' is not a number from 1 to 65535") }
                port = p
            }
            host = String(h[h.index(after: h.startIndex)..<close])
        }
        host = host?.removingPercentEncoding
        if let h = query["host"] { host = h }
        if let p = query["port"] {
            guard let value = Int(p), (1...65535).contains(value) else { throw bad("port=\(p) is not a number from 1 to 65535") }
            port = value
        }
        self.user = query["user"] ?? user ?? environment["PGUSER"] ?? ""
        guard !self.user.isEmpty else { throw bad("no user name") }
        self.password = query["password"] ?? password ?? environment["PGPASSWORD"]
        self.database = query["dbname"] ?? (path.isEmpty ? self.user : (path.removingPercentEncoding ?? path))
        self.port = port
        if let h = host, h.hasPrefix("/") {
            socketDirectory = h
            self.host = nil
        } else {
            socketDirectory = nil
            self.host = host ?? "localhost"
        }
        let mode = query["sslmode"] ?? (socketDirectory == nil ? "prefer" : "disable")
        guard let parsed = SSLMode(rawValue: mode == "allow" ? "prefer" : mode) else {
            throw bad("sslmode=\(mode) is not one of disable, allow, prefer, require, verify-ca, verify-full")
        }
        sslMode = parsed
        sslRootCertificate = query["sslrootcert"]
        sslCertificate = query["sslcert"]
        sslKey = query["sslkey"]
        if (sslCertificate == nil) != (sslKey == nil) { throw bad("a client certificate needs both sslcert and sslkey") }
        let timeout = query["connect_timeout"] ?? "10"
        guard let seconds = Int64(timeout), seconds > 0 else { throw bad("connect_timeout=\(timeout) is not a positive number of seconds") }
        connectTimeoutSeconds = seconds
    }

    /// The connection string with its password replaced by `***`: for logs and messages.
    public var description: String {
        let place = socketDirectory.map { "?host=\($0)" } ?? ""
        let where_ = socketDirectory == nil ? "\(host ?? ""):\(port)" : ""
        return "postgresql://\(user)\(password == nil ? "" : ":***")@\(where_)/\(database)\(place)"
    }

    /// `text` with anything between `:` and `@` of its authority hidden.
    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"),
              let colon = text[scheme.upperBound..<at].firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }

    /// postgres-nio's configuration for this URL.
    public func configuration() throws(FleetError) -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socketDirectory {
            configuration = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            configuration = .init(host: host ?? "localhost", port: port, username: user, password: password, database: database,
                                  tls: try tls())
        }
        configuration.options.connectTimeout = .seconds(connectTimeoutSeconds)
        return configuration
    }

    func tls() throws(FleetError) -> PostgresConnection.Configuration.TLS {
        guard sslMode != .disable else { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            switch sslMode {
            case .disable, .prefer, .require:
                // libpq: without verify-*, the server's certificate is not checked (but a root cert given means verify-ca).
                tls.certificateVerification = sslRootCertificate == nil ? .none : .noHostnameVerification
            case .verifyCA: tls.certificateVerification = .noHostnameVerification
            case .verifyFull: tls.certificateVerification = .fullVerification
            }
            if let root = sslRootCertificate { tls.trustRoots = .file(root) }
            if let cert = sslCertificate, let key = sslKey {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            let context = try NIOSSLContext(configuration: tls)
            return sslMode == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw .badURL("cannot set up TLS (sslrootcert, sslcert, sslkey): \(error) — check the files' paths and that they are PEM")
        }
    }
}
