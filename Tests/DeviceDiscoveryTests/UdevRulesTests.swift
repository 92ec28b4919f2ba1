import DeviceDiscovery
import Foundation
import LockDiagTestSupport
import Testing

/// udev/70-lockdiag.rules through the real udev rules engine (`udevadm test`) against the
/// devices in Tests/Recordings, faked by umockdev, inside a private mount namespace whose /dev,
/// /run and /etc/group are throwaway (udevadm test writes symlinks and its database for real).
/// Then the properties it produced are fed to discovery's own matcher, with the lock ids taken
/// out of it, so the rules alone must make the daemon take the device for a lock.
@Suite(.enabled(if: getuid() == 0, "needs root for a private mount namespace (unshare --mount)"))
struct UdevRulesTests {
    static let lockdiagGID = 64_999

    @Test func theVendorBulkLockGetsTheGroupTheModeTheLinkAndTheProperty() throws {
        let result = try udevadmTest(recording: "lock-bulk.umockdev", syspath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3")
        let ours = result.log.filter { $0.contains("70-lockdiag.rules:") }
        #expect(ours.contains { $0.hasSuffix("GROUP \(Self.lockdiagGID)") }, "\(result.log.joined(separator: "\n"))")
        #expect(ours.contains { $0.hasSuffix("MODE 0660") })
        #expect(ours.contains { $0.hasSuffix("LINK 'lockdiag/LX3-000123'") })
        let p = result.properties
        #expect(p[DiscoveryPolicy.transportProperty] == "usb")
        #expect(p["DEVLINKS"]?.split(separator: " ").contains("/dev/lockdiag/LX3-000123") == true)
        #expect(p["TAGS"]?.contains(":\(DiscoveryPolicy.tag):") == true)
        #expect(p["TAGS"]?.contains(":systemd:") == true)
        #expect(p["SYSTEMD_WANTS"]?.contains("lockdiagd.service") == true)

        var policy = DiscoveryPolicy()
        policy.bulkLocks = []
        let device = try #require(policy.classify(facts(p, syspath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3", subsystem: "usb",
                                                        usb: .init(port: "1-3", id: KnownDevices.bulkLock, serial: "LX3-000123"))))
        #expect(device.match == .udevProperty && device.transport == .usb && device.stableID == "LX3-000123")
    }

    @Test func theCDCACMLockTTYGetsThemTooAndModemManagerLeavesItAlone() throws {
        let syspath = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4:1.0/tty/ttyACM0"
        let result = try udevadmTest(recording: "lock-acm.umockdev", syspath: syspath)
        let ours = result.log.filter { $0.contains("70-lockdiag.rules:") }
        #expect(ours.contains { $0.hasSuffix("GROUP \(Self.lockdiagGID)") }, "\(result.log.joined(separator: "\n"))")
        #expect(ours.contains { $0.hasSuffix("MODE 0660") })
        let p = result.properties
        #expect(p[DiscoveryPolicy.transportProperty] == "serial")
        #expect(p["ID_SERIAL_SHORT"] == "SIM-0007-000")
        #expect(p["ID_MM_DEVICE_IGNORE"] == "1")
        #expect(p["DEVLINKS"]?.split(separator: " ").contains("/dev/lockdiag/SIM-0007-000") == true)
        #expect(p["TAGS"]?.contains(":\(DiscoveryPolicy.tag):") == true && p["TAGS"]?.contains(":systemd:") == true)

        var policy = DiscoveryPolicy()
        policy.serialLocks = []
        let device = try #require(policy.classify(facts(p, syspath: syspath, subsystem: "tty",
                                                        usb: .init(port: "1-4", id: KnownDevices.serialLock, serial: "SIM-0007-000"))))
        #expect(device.match == .udevProperty && device.transport == .serial)
        #expect(device.path == "/dev/lockdiag/SIM-0007-000")
    }

    @Test func aMouseIsLeftAlone() throws {
        // The same bulk description with another vendor's id: no rule of ours may touch it.
        let result = try udevadmTest(recording: "lock-bulk.umockdev", syspath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3",
                                     edit: { $0.replacingOccurrences(of: "A: idVendor=1209", with: "A: idVendor=046d") })
        #expect(!result.log.contains { $0.contains("70-lockdiag.rules:") })
        #expect(result.properties[DiscoveryPolicy.transportProperty] == nil)
    }

    // MARK: - Running udevadm test in a sandbox

    struct Outcome {
        var log: [String]
        var properties: [String: String]
    }

    /// Properties the rules (ours and udev's defaults) set: removed from the recording so the
    /// rules engine has to produce them.
    static let derived = ["LOCKDIAG_TRANSPORT", "DEVLINKS", "TAGS", "ID_MM_DEVICE_IGNORE", "ID_SERIAL_SHORT", "ID_BUS",
                          "ID_USB_INTERFACE_NUM", "ID_VENDOR_ID", "ID_MODEL_ID"]

    func udevadmTest(recording: String, syspath: String, edit: (String) -> String = { $0 }) throws -> Outcome {
        for tool in ["/usr/bin/umockdev-run", "/usr/bin/udevadm", "/usr/bin/unshare"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) missing: `make deps` installs umockdev and udev")
        }
        let scratch = try TemporaryDirectory(prefix: "udevrules")
        defer { scratch.remove() }
        let rules = scratch.path + "/rules.d"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.repositoryRoot.path + "/udev/70-lockdiag.rules", toPath: rules + "/70-lockdiag.rules")
        // A machine where lockdiag is installed has the group already: replace its line, so the
        // copy has exactly one `lockdiag` (udev would take the first of two) with the gid expected here.
        var group = try String(contentsOfFile: "/etc/group", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("lockdiag:") }.joined(separator: "\n")
        group += "\nlockdiag:x:\(Self.lockdiagGID):\n"
        try group.write(toFile: scratch.path + "/group", atomically: true, encoding: .utf8)
        let text = try String(contentsOfFile: TestSupport.repositoryRoot.path + "/Tests/Recordings/" + recording, encoding: .utf8)
        let description = edit(text).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in !line.hasPrefix("#") && !Self.derived.contains { line.hasPrefix("E: \($0)=") } }
            .joined(separator: "\n")
        try description.write(toFile: scratch.path + "/device.umockdev", atomically: true, encoding: .utf8)

        let sandbox = """
            mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev && \
            mount --bind '\(rules)' /etc/udev/rules.d && mount --bind '\(scratch.path)/group' /etc/group && \
            exec udevadm test --action=add '\(syspath)'
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/umockdev-run")
        process.arguments = ["--device", scratch.path + "/device.umockdev", "--", "/usr/bin/unshare", "--mount", "--propagation", "private",
                             "/bin/sh", "-c", sandbox]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        try #require(process.terminationStatus == 0, "udevadm test failed:\n\(lines.joined(separator: "\n"))")
        var properties: [String: String] = [:]
        for line in lines {
            guard let equals = line.firstIndex(of: "="), line[..<equals].allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" }),
                  !line[..<equals].isEmpty else { continue }
            properties[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return Outcome(log: lines, properties: properties)
    }

    func facts(_ p: [String: String], syspath: String, subsystem: String, usb: DiscoveryPolicy.USBFacts) -> DiscoveryPolicy.Facts {
        DiscoveryPolicy.Facts(syspath: syspath, subsystem: subsystem, devtype: p["DEVTYPE"], devnode: p["DEVNAME"],
                              devlinks: p["DEVLINKS"].map { $0.split(separator: " ").map(String.init) } ?? [],
                              transportProperty: p[DiscoveryPolicy.transportProperty], usb: usb)
    }
}
