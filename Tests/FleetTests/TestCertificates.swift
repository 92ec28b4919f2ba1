import Foundation
import LockDiagTestSupport

/// A private certificate authority and the certificates a TLS test needs, made by the openssl command in `folder`:
/// the server's for `localhost` (DNS name only, so `verify-full` to 127.0.0.1 fails on the name), a client's for
/// `clientUser` (PostgreSQL's `cert` login takes the user from the certificate's CN), and a second, unrelated
/// authority with a certificate of its own for `localhost` (a server the station must not trust).
struct TestCertificates {
    let folder: String
    var authority: String { folder + "/ca.pem" }
    var serverCertificate: String { folder + "/server.pem" }
    var serverKey: String { folder + "/server.key" }
    var clientCertificate: String { folder + "/client.pem" }
    var clientKey: String { folder + "/client.key" }
    var otherAuthority: String { folder + "/other-ca.pem" }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    init(in folder: String, clientUser: String) throws {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let serverNames = folder + "/server.ext"
        try "subjectAltName=DNS:localhost\n".write(toFile: serverNames, atomically: true, encoding: .utf8)
        for ca in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                         "-subj", "/CN=lockdiag test \(ca)", "-keyout", "\(folder)/\(ca).key", "-out", "\(folder)/\(ca).pem"])
        }
        for (name, subject, ca, ext) in [("server", "localhost", "ca", serverNames), ("client", clientUser, "ca", nil),
                                        ("other-server", "localhost", "other-ca", serverNames)] {
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(subject)",
                         "-keyout", "\(folder)/\(name).key", "-out", "\(folder)/\(name).csr"])
            try openssl(["x509", "-req", "-in", "\(folder)/\(name).csr", "-CA", "\(folder)/\(ca).pem", "-CAkey", "\(folder)/\(ca).key",
                         "-CAcreateserial", "-days", "2", "-out", "\(folder)/\(name).pem"] + (ext.map { ["-extfile", $0] } ?? []))
        }
        // PostgreSQL refuses a key file others can read.
        for key in ["server", "client", "other-server"] { chmod("\(folder)/\(key).key", 0o600) }
    }

    private func openssl(_ arguments: [String]) throws {
        let r = try runTool("/usr/bin/openssl", arguments)
        guard r.status == 0 else {
            throw Failed(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(r.err) — `make test` installs Debian's openssl")
        }
    }
}
