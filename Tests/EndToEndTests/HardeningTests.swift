import Foundation
import Glibc
@testable import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// The socket's file system side under the conditions the shipped unit and a shared machine
/// create: a syscall filter without chown, a planted symlink, a directory someone else made.
@Suite struct HardeningTests {
    /// Like the unit's `SystemCallFilter=~@privileged` (systemd's @chown set on x86_64): chown
    /// calls fail with EPERM. Debian's python3-seccomp loads the filter, then execs the daemon.
    static let withoutChown = [
        "/usr/bin/python3", "-c",
        """
        import errno, os, sys, seccomp
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in ("chown", "fchown", "fchownat", "lchown"):
            f.add_rule(seccomp.ERRNO(errno.EPERM), name)
        f.load()
        os.execv(sys.argv[1], sys.argv[1:])
        """,
    ]
    static let canFilter = OtherUser.canSwitch && (try? runTool("/usr/bin/python3", ["-c", "import seccomp"]))?.status == 0

    /// The kernel lab found it (issue 13): lockdiagd under the unit's hardening stopped with
    /// "chown: Operation not permitted" on its socket, and Restart= restarted it for ever. Its
    /// primary group is the reader group, so the socket is born with it and needs no chown.
    @Test(.enabled(if: canFilter, "needs root, setpriv and python3-seccomp"))
    func theDaemonStartsWhereChownIsFiltered() throws {
        // uid/gid 65534 with the reader group as its primary group, as the unit's User=/Group=.
        let launcher = OtherUser(uid: 65534, gid: 65534).launcher + Self.withoutChown
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--reader-group", "65534"],
                                       launcher: launcher)
        defer { #expect(daemon.stop() == 0) }
        var info = stat()
        #expect(lstat(daemon.socketPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660 && info.st_uid == 65534 && info.st_gid == 65534)
        #expect(daemonServes(daemon.socketPath))
    }

    /// Where the group must change (the reader group is only a supplementary group) and chown
    /// is filtered, lockdiagd stops at once and says how to set the service up, instead of
    /// failing for ever on "Operation not permitted".
    @Test(.enabled(if: canFilter, "needs root, setpriv and python3-seccomp"))
    func aGroupChangeThatIsRefusedStopsTheDaemonWithWhatToDo() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        chmod(directory.path, 0o1777)
        let launcher = OtherUser(uid: 65534, gid: 65534, groups: [47110]).launcher + Self.withoutChown
        let result = try ChildProcess.run("lockdiagd", ["--reader-group", "47110", "--socket", directory.path + "/lockdiag.sock",
                                                        "--db", directory.path + "/h.sqlite"],
                                          timeoutSeconds: 30, launcher: launcher)
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot give \(directory.path)/lockdiag.sock group 47110"), "\(result.stderr)")
        #expect(result.stderr.contains("as its primary group"), "\(result.stderr)")
    }

    /// chmod(2) and chown(2) follow symlinks: a link put where the socket was must be refused,
    /// never followed to the file it names.
    @Test func aSymlinkAtTheSocketPathIsNotFollowed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let target = directory.path + "/precious"
        #expect(FileManager.default.createFile(atPath: target, contents: Data("x".utf8), attributes: [.posixPermissions: 0o600]))
        let link = directory.path + "/lockdiag.sock"
        #expect(symlink(target, link) == 0)
        #expect {
            try SocketFile.setAttributes(of: link, type: S_IFSOCK, mode: 0o666, groupID: nil)
        } throws: { error in
            guard case .unsafePath(let path, let reason)? = error as? JSONRPCServerError else { return false }
            return path == link && reason.contains("symlink")
        }
        var info = stat()
        #expect(stat(target, &info) == 0 && info.st_mode & 0o777 == 0o600, "the link's target was changed")
    }

    /// The fallback socket directory (/tmp/lockdiag-UID when there is no XDG_RUNTIME_DIR) made
    /// first by another user, or one that others may write, is refused with what to do.
    @Test(.enabled(if: getuid() == 0, "needs root to make a directory another user owns"))
    func aSocketDirectoryOthersControlIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let theirs = directory.path + "/lockdiag-theirs"
        #expect(mkdir(theirs, 0o755) == 0 && chown(theirs, 65534, 65534) == 0)
        let open = directory.path + "/open"
        #expect(mkdir(open, 0o777) == 0 && chmod(open, 0o777) == 0)
        for (path, reason) in [(theirs + "/lockdiag.sock", "belongs to uid 65534"), (open + "/lockdiag.sock", "not sticky")] {
            let result = try ChildProcess.run("lockdiagd", ["--socket", path, "--db", directory.path + "/h.sqlite"], timeoutSeconds: 30)
            #expect(result.status != 0)
            #expect(result.stderr.contains(reason) && result.stderr.contains("XDG_RUNTIME_DIR"), "\(result.stderr)")
            #expect(access(path, F_OK) != 0, "a socket was made in \(path)")
        }
        // Sticky and world-writable, like /tmp itself: others cannot remove or replace our file.
        let sticky = directory.path + "/sticky"
        #expect(mkdir(sticky, 0o777) == 0 && chmod(sticky, 0o1777) == 0)
        let child = try ChildProcess("lockdiagd", ["--socket", sticky + "/lockdiag.sock", "--db", directory.path + "/h.sqlite"])
        defer { child.signal(SIGTERM); _ = child.waitForExit(within: 15) }
        #expect(child.waitForErrorLine(containing: "ready:", within: 30) != nil, "\(child.allErrors)")
    }

    /// `--simulate` put its pty links under the socket's directory first and so created that
    /// directory 0755; it is 0750 (group: the readers) like any socket directory the daemon makes.
    @Test func theSimulatorDoesNotLoosenTheSocketDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = directory.path + "/run/lockdiag.sock"
        let child = try ChildProcess("lockdiagd", ["--simulate", "healthy", "--simulate-activity", "0",
                                                   "--socket", socket, "--db", directory.path + "/h.sqlite"])
        defer { child.signal(SIGTERM); _ = child.waitForExit(within: 15) }
        #expect(child.waitForErrorLine(containing: "ready:", within: 30) != nil, "\(child.allErrors)")
        var info = stat()
        #expect(stat(directory.path + "/run", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o750, "socket directory mode \(String(info.st_mode & 0o777, radix: 8))")
    }
}
