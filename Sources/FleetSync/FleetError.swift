import PostgresNIO

/// Why a fleet operation failed, with what to do about it.
public enum FleetError: Error, Sendable, CustomStringConvertible, Equatable {
    case badURL(String)
    /// The server could not be reached or refused the login.
    case unreachable(url: String, reason: String)
    /// TLS was asked for (`sslmode`) and could not be set up: the server's certificate was not trusted, did not
    /// name the host, or the server does not speak TLS.
    case tlsRefused(url: String, reason: String)
    /// The server answered a statement with an error (SQLSTATE and message).
    case server(sqlState: String, message: String, hint: String?)
    /// The fleet schema is missing or older than this lockdiag.
    case notInitialised(url: String)
    case badArgument(String)
    case history(String)

    public var description: String {
        switch self {
        case .badURL(let why): "bad fleet connection string: \(why)"
        case .unreachable(let url, let reason):
            "cannot reach the fleet database \(url): \(reason) — check the host, port, user and password (or $PGPASSWORD), and that the server runs"
        case .tlsRefused(let url, let reason):
            "no TLS session with the fleet database \(url): \(reason)"
        case .server(let state, let message, let hint):
            "the fleet database refused: \(message) (SQLSTATE \(state))" + Self.advice(state: state, hint: hint)
        case .notInitialised(let url):
            "\(url) has no lockdiag fleet schema, or an older one — an administrator runs `lockdiag fleet init URL` (docs/fleet.md)"
        case .badArgument(let why): why
        case .history(let why): "cannot read the station's history: \(why)"
        }
    }

    static func advice(state: String, hint: String?) -> String {
        if let hint { return " — \(hint)" }
        switch state {
        case "42501": return " — this login lacks the right: a station inserts only its own rows, reading the fleet needs fleet_analyst, approving keys fleet_admin"
        case "3F000", "42P01", "42883": return " — is the fleet schema there? run `lockdiag fleet init URL` as an administrator"
        case "28P01", "28000": return " — check the user name and password"
        default: return ""
        }
    }

    /// Whether waiting and trying again may help (the server down, the network gone) rather than a refusal.
    public var isTransient: Bool {
        switch self {
        case .unreachable: true
        // A certificate does not fix itself; the link still tries again with its back-off, so a renewed one is picked up.
        case .tlsRefused: false
        case .server(let state, _, _):
            // Class 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown), 40 rollback.
            ["08", "53", "57", "40"].contains(String(state.prefix(2)))
        default: false
        }
    }

    /// Maps postgres-nio's error (whose description hides the server's message on purpose) to ours.
    public static func from(_ error: any Error, url: FleetURL) -> FleetError {
        if let error = error as? FleetError { return error }
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let state = info[.sqlState] {
                return .server(sqlState: state, message: info[.message] ?? "no message", hint: info[.hint])
            }
            if error.code == .sslUnsupported {
                return .tlsRefused(url: url.description, reason: "the server does not offer TLS — enable ssl in its postgresql.conf, "
                                   + "or use sslmode=prefer (encrypts when the server can) or sslmode=disable (never)")
            }
            if let underlying = error.underlying, let reason = tlsReason(underlying, url: url) {
                return .tlsRefused(url: url.description, reason: reason)
            }
            let underlying = error.underlying.map { "\($0)" }
            return .unreachable(url: url.description, reason: underlying ?? "\(error.code)")
        }
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return from(inner, url: url) }
        }
        return .unreachable(url: url.description, reason: "\(error)")
    }

    /// What a TLS failure from NIOSSL means for the person holding the connection string, or nil when `error` is not one.
    static func tlsReason(_ error: any Error, url: FleetURL) -> String? {
        let trust = url.sslRootCertificate.map { "the authority in sslrootcert=\($0)" } ?? "the system's trusted authorities"
        if let extra = error as? NIOSSLExtraError {
            switch extra {
            case .failedToValidateHostname, .cannotUseIPAddressInSNI, .serverHostnameImpossibleToMatch:
                return "the server's certificate does not name the host \(url.host ?? "") (\(extra)) — connect by a name the "
                    + "certificate lists, or use sslmode=verify-ca to check the certificate's issuer but not its name"
            default:
                return "\(extra) — check sslcert, sslkey and sslrootcert (PEM files)"
            }
        }
        guard error is NIOSSLError || error is BoringSSLError else { return nil }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not signed by \(trust) — give the fleet's CA certificate as sslrootcert, "
                + "or ask its administrator whether the server's certificate changed"
        }
        if text.contains("TLSV1_ALERT") || text.contains("CERTIFICATE_REQUIRED") || text.contains("HANDSHAKE_FAILURE") {
            return "the server refused the TLS handshake (\(Self.openSSLReason(text) ?? text)) — check sslcert and sslkey: "
                + "the server may ask for a client certificate its authority signed"
        }
        return "the TLS handshake failed (\(Self.openSSLReason(text) ?? text)) — check sslmode and the certificates"
    }

    /// The reason code in a BoringSSL error text (`…:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at …` → the code).
    static func openSSLReason(_ text: String) -> String? {
        guard let marker = text.range(of: "OPENSSL_internal:") else { return nil }
        return String(text[marker.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
    }
}
