import Foundation
import LockDiagTestSupport
import Testing

/// A fleet link that cannot work says why in daemon.info and harms nothing else.
@Suite(.serialized) struct FleetLinkErrorTests {
    @Test(.timeLimit(.minutes(2)))
    func aRefusedLoginShowsOfflineWithAdviceAndTheDaemonServesOn() async throws {
        try await offPool {
            let pg = try startFleetDatabase()
            defer { pg.remove() }
            _ = try enrollStation("site_4", in: pg)
            let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0",
                                            "--fleet", pg.url(user: "site_4", password: "not-its-password")])
            defer { daemon.stop() }
            var last = ""
            #expect(try TestSupport.wait(upTo: 20, pollEvery: 0.1) {
                guard let info = try fleetInfo(daemon.socketPath) else { return false }
                last = info.lastError ?? ""
                return info.state == .offline && last.contains("28P01") && last.contains("check the user name and password")
            }, "\(last)")
            #expect(!last.contains("not-its-password"), "the password leaked into daemon.info")
            // `lockdiag info` (not only --json) shows the link down, why, and the backlog.
            let info = try ChildProcess.run("lockdiag", ["info", "--socket", daemon.socketPath])
            #expect(info.status == 0 && info.stdout.contains("Fleet") && info.stdout.contains("as station site_4")
                    && info.stdout.contains("OFFLINE") && info.stdout.contains("28P01") && info.stdout.contains("backlog"), "\(info.stdout)")
            #expect(!info.stdout.contains("not-its-password"), "the password leaked into lockdiag info")
            let status = try ChildProcess.run("lockdiag", ["list", "--socket", daemon.socketPath])
            #expect(status.status == 0, "\(status.stderr)")
        }
    }

    @Test func aConnectionStringLockdiagdCannotReadIsAUsageError() throws {
        let dir = try TemporaryDirectory(prefix: "furl")
        defer { dir.remove() }
        let r = try ChildProcess.run("lockdiagd", ["--simulate", "healthy", "--socket", dir.path + "/s.sock", "--db", dir.path + "/h.sqlite",
                                                   "--fleet", "mysql://station:secret@db/fleet"], timeoutSeconds: 20)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--fleet") && r.stderr.contains("postgresql://USER"), "\(r.stderr)")
        #expect(!r.stderr.contains("secret"), "the password leaked into the message")
    }
}
