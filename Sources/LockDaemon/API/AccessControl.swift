#if canImport(Glibc)
import Glibc
#endif
import JSONRPC
import LockDiagAPI

/// What a client of the socket API may do (docs/security.md). Decided from the peer's kernel
/// credentials alone: no passwords, nothing the client can claim.
public enum Role: Int, Sendable, Comparable, CustomStringConvertible {
    /// Status, faults, telemetry, daemon figures.
    case reader = 1
    /// A reader who may also change a lock or speak for the station: clear its faults, run its
    /// self-tests, move its bolt, sign a report.
    case technician = 2

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .reader: "reader"
        case .technician: "technician"
        }
    }
}

/// A Unix group that grants a role: its name as configured, and its gid when the group exists.
public struct RoleGroup: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    /// nil when no such group exists on this machine: nobody gets the role through it.
    public let gid: UInt32?

    public init(name: String, gid: UInt32?) {
        self.name = name
        self.gid = gid
    }

    /// Looks a group up by name, or takes a number as a gid (`--reader-group 4711`). Group 0
    /// (root) never grants a role: root is a technician by uid, and SO_PEERGROUPS cannot tell a
    /// lone supplementary gid 0 from none (see `KernelPeerGroups`).
    public static func lookUp(_ nameOrNumber: String) -> RoleGroup {
        let gid = UInt32(nameOrNumber) ?? groupID(named: nameOrNumber)
        let name = UInt32(nameOrNumber).flatMap(groupName) ?? nameOrNumber
        return RoleGroup(name: name, gid: gid == 0 ? nil : gid)
    }

    public var description: String { gid.map { "\(name) (gid \($0))" } ?? "\(name) (no such group)" }

    static func groupID(named name: String) -> UInt32? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return group.gr_gid
    }

    static func groupName(of gid: UInt32) -> String? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrgid_r(gid, &group, &buffer, buffer.count, &result) == 0, result != nil, let name = group.gr_name else { return nil }
        return String(cString: name)
    }
}

/// Who may connect and what each may call. Root, and the daemon's own user (who could trace the
/// daemon anyway), are technicians; members of the technician group are technicians, members
/// of the reader group readers; anyone else is refused at connect. Group membership is the
/// connecting process's as the kernel reports it (SO_PEERCRED's gid and SO_PEERGROUPS), so a
/// user added to a group must log in again before it counts, and one who dropped a group
/// (`setgroups`, `newgrp`, a sandbox) does not have it.
public struct AccessPolicy: Sendable {
    public var readerGroup: RoleGroup
    public var technicianGroup: RoleGroup
    /// The uid lockdiagd runs as.
    public var daemonUID: UInt32
    /// The role each method needs. A registered method missing here needs `technician`: a
    /// new method is safe until someone decides it only reads.
    public var methodRoles: [String: Role]

    public init(readerGroup: RoleGroup, technicianGroup: RoleGroup, daemonUID: UInt32 = getuid(),
                methodRoles: [String: Role] = AccessPolicy.apiMethodRoles) {
        self.readerGroup = readerGroup
        self.technicianGroup = technicianGroup
        self.daemonUID = daemonUID
        self.methodRoles = methodRoles
    }

    /// The socket API's methods (docs/socket-api.md) and who may call them.
    public static let apiMethodRoles: [String: Role] = [
        APIMethod.daemonInfo: .reader, APIMethod.daemonStats: .reader, APIMethod.devicesList: .reader,
        APIMethod.deviceStatus: .reader, APIMethod.faultsList: .reader, APIMethod.faultsHistory: .reader,
        APIMethod.telemetrySubscribe: .reader, APIMethod.telemetryUnsubscribe: .reader,
        APIMethod.devicesSubscribe: .reader, APIMethod.devicesUnsubscribe: .reader, APIMethod.stationInfo: .reader,
        APIMethod.faultsClear: .technician, APIMethod.testsRun: .technician, APIMethod.deviceActuate: .technician,
        APIMethod.reportCreate: .technician, APIMethod.recordStart: .technician, APIMethod.recordStop: .technician,
        APIMethod.deviceParts: .technician, APIMethod.commissionStart: .technician, APIMethod.commissionStep: .technician,
        APIMethod.commissionFinish: .technician,
    ]

    /// The group names lockdiag uses unless told otherwise (`--reader-group`, `--technician-group`).
    public static let defaultReaderGroup = "lockdiag"
    public static let defaultTechnicianGroup = "lockdiag-admin"

    /// The highest role the peer has, or nil for none.
    public func role(of peer: PeerCredentials?) -> Role? {
        guard let peer else { return nil }
        if peer.uid == 0 || peer.uid == daemonUID { return .technician }
        let groups = Self.groups(of: peer)
        if let gid = technicianGroup.gid, groups.contains(gid) { return .technician }
        if let gid = readerGroup.gid, groups.contains(gid) { return .reader }
        return nil
    }

    public func requiredRole(for method: String) -> Role { methodRoles[method] ?? .technician }

    /// The group that grants `role`.
    public func group(for role: Role) -> RoleGroup { role == .technician ? technicianGroup : readerGroup }

    /// The connection-admission decision: technicians are privileged (they may take the slots
    /// kept for them and are not capped per uid), readers ordinary, anyone else refused with
    /// an error that is the client's only line before the server closes.
    public func admission(_ peer: PeerCredentials?) -> JSONRPCServer.Admission {
        switch role(of: peer) {
        case .technician: .admit(privileged: true)
        case .reader: .admit(privileged: false)
        case nil: .refuse(.permissionDenied("connecting to lockdiagd", role: Role.reader.description, group: readerGroup.name))
        }
    }

    /// The -32004 for a caller whose role is below what `method` needs.
    public func denial(of method: String) -> RPCError {
        let needed = requiredRole(for: method)
        return .permissionDenied(method, role: needed.description, group: group(for: needed).name)
    }

    /// The peer's groups as the kernel reported them at connect: its gid and, when
    /// SO_PEERGROUPS answered, its supplementary groups. When it did not (over 1024 groups, an
    /// old kernel), only the gid counts — never the group database, which lists the groups a
    /// user *may* have, including ones the connecting process dropped. /proc/PID/status is not
    /// asked either: the pid may already name another process, and it tells today's groups,
    /// not those at connect. Failing closed costs a user with over 1024 groups a role held only
    /// through a supplementary group; the log's refusal says which group to make primary.
    static func groups(of peer: PeerCredentials) -> Set<UInt32> {
        Set([peer.gid] + (peer.groups ?? []))
    }
}
