import Foundation
import Glibc
import LockDiagTestSupport
import Reports
import Testing

/// lockdiagd refuses a station key it cannot trust to be its own, before touching any lock.
@Suite struct StationKeyProcessTests {
    @Test func lockdiagdRefusesAKeyOfAnotherUserOrBehindALink() async throws {
        try await offPool {
            let dir = try TemporaryDirectory(prefix: "keyproc")
            defer { dir.remove() }
            let real = dir.path + "/real.key"
            _ = try StationKey.create(path: real)
            let link = dir.path + "/link.key"
            #expect(symlink(real, link) == 0)
            let foreign = dir.path + "/foreign.key"
            _ = try StationKey.create(path: foreign)
            #expect(chown(foreign, 4242, 4242) == 0)
            for (key, message) in [(link, "is a symbolic link"), (foreign, "belongs to uid 4242, not to lockdiagd's uid \(geteuid())")] {
                let refused = try ChildProcess.run("lockdiagd", ["--simulate", "healthy", "--socket", dir.path + "/s.sock",
                                                                 "--db", dir.path + "/h.sqlite", "--key", key], timeoutSeconds: 20)
                #expect(refused.status != 0, "\(key)")
                #expect(refused.stderr.contains(message), "\(refused.stderr)")
            }
        }
    }
}
