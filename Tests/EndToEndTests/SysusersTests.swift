import Foundation
import LockDiagTestSupport
import Testing

/// udev/README.md: "the sysusers file creates `lockdiagd` and both groups". Run by the real
/// systemd-sysusers against a scratch root that holds only what a fresh Debian has.
@Suite struct SysusersTests {
    static let tool = "/usr/bin/systemd-sysusers"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: SysusersTests.tool), "needs systemd-sysusers"))
    func theSysusersFileCreatesTheServiceUserAndBothGroups() throws {
        let root = try TemporaryDirectory(prefix: "sysusers")
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: root.path + "/etc", withIntermediateDirectories: false)
        try "root:x:0:0:root:/root:/bin/sh\n".write(toFile: root.path + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\ndialout:x:20:\nplugdev:x:46:\n".write(toFile: root.path + "/etc/group", atomically: true, encoding: .utf8)
        let conf = TestSupport.repositoryRoot.appendingPathComponent("udev/lockdiag.sysusers.conf").path
        let run = try runTool(Self.tool, ["--root=" + root.path, conf])
        #expect(run.status == 0, "\(run.err)")

        func entries(_ file: String) throws -> [String: [String]] {
            let text = try String(contentsOfFile: root.path + "/etc/" + file, encoding: .utf8)
            var byName: [String: [String]] = [:]
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                byName[fields[0]] = fields
            }
            return byName
        }
        let groups = try entries("group"), users = try entries("passwd")
        let reader = try #require(groups["lockdiag"], "no group lockdiag")
        #expect(groups["lockdiag-admin"] != nil, "no group lockdiag-admin")
        let daemon = try #require(users["lockdiagd"], "no user lockdiagd")
        // The unit runs as lockdiagd with Group=lockdiag; its home is its state directory, and it
        // has no login shell.
        #expect(daemon[3] == reader[2], "lockdiagd's primary group is \(daemon[3]), lockdiag is \(reader[2])")
        #expect(daemon[5] == "/var/lib/lockdiag")
        #expect(daemon[6].hasSuffix("nologin"))
        // SupplementaryGroups=dialout plugdev in the unit: the daemon reaches serial and libusb nodes.
        for name in ["dialout", "plugdev"] {
            let members = groups[name]?[3].split(separator: ",").map(String.init) ?? []
            #expect(members.contains("lockdiagd"), "lockdiagd is not in \(name): \(members)")
        }
    }
}
