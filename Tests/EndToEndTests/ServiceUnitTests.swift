import Foundation
import LockDiagTestSupport
import Testing

/// udev/lockdiagd.service: the settings the design requires are there, and systemd itself finds
/// the unit valid (systemd-analyze verify, with ExecStart pointed at the lockdiagd just built).
@Suite struct ServiceUnitTests {
    static let unit = TestSupport.repositoryRoot.appendingPathComponent("udev/lockdiagd.service")

    @Test func theUnitHasEveryRequiredSetting() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        let settings = Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }.map { String($0) })
        for line in ["Type=notify", "NotifyAccess=main", "WatchdogSec=10s", "Restart=on-failure", "User=lockdiagd", "Group=lockdiag",
                     "SupplementaryGroups=dialout plugdev", "RuntimeDirectory=lockdiag", "RuntimeDirectoryMode=0750", "StateDirectory=lockdiag",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                     "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_BLUETOOTH", "DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw",
                     "DeviceAllow=char-ttyACM rw", "DeviceAllow=char-usb_device rw", "CapabilityBoundingSet=", "AmbientCapabilities=",
                     // docs/security.md: the socket's umask window, --realtime by limits, no IP, ptys for --simulate, the lock-down.
                     "StateDirectoryMode=0750", "UMask=0027", "LimitRTPRIO=90", "LimitMEMLOCK=infinity", "RestrictRealtime=no",
                     "IPAddressDeny=any", "DeviceAllow=/dev/ptmx rw", "DeviceAllow=char-pts rw", "PrivateMounts=yes",
                     "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes", "ProtectControlGroups=yes",
                     "ProtectClock=yes", "ProtectHostname=yes", "RestrictNamespaces=yes", "RestrictSUIDSGID=yes", "LockPersonality=yes",
                     "MemoryDenyWriteExecute=yes", "RemoveIPC=yes", "KeyringMode=private", "SystemCallArchitectures=native",
                     "SystemCallFilter=@system-service",
                     "SystemCallFilter=~@privileged @mount @debug @reboot @swap @module @obsolete @cpu-emulation @clock",
                     "SystemCallErrorNumber=EPERM",
                     "ExecStart=/usr/local/bin/lockdiagd --socket /run/lockdiag/lockdiag.sock --db /var/lib/lockdiag/history.sqlite $LOCKDIAGD_OPTIONS"] {
            #expect(settings.contains(line), "missing \(line)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
    func systemdFindsTheUnitValid() throws {
        let directory = try TemporaryDirectory(prefix: "unit")
        defer { directory.remove() }
        let daemon = try ChildProcess.product("lockdiagd")
        let text = try String(contentsOf: Self.unit, encoding: .utf8).replacingOccurrences(of: "/usr/local/bin/lockdiagd", with: daemon)
        let copy = directory.path + "/lockdiagd.service"
        try text.write(toFile: copy, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        process.arguments = ["verify", copy]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(!output.contains("Unknown key"), "\(output)")
    }
}
