#if canImport(Glibc)
import Glibc
#endif
import JSONRPC
import LinuxIO

extension Daemon {
    /// The roles from the configured groups, with a warning for each group that does not exist.
    func accessPolicy() -> AccessPolicy {
        let s = configuration.security
        let policy = AccessPolicy(readerGroup: RoleGroup.lookUp(s.readerGroup), technicianGroup: RoleGroup.lookUp(s.technicianGroup))
        for (role, group) in [(Role.reader, policy.readerGroup), (.technician, policy.technicianGroup)] where group.gid == nil {
            let text = "group '\(group.name)' does not exist (or is group 0, which grants nothing), so only root and uid \(policy.daemonUID) "
                + "have the \(role) role — create it (sudo groupadd \(group.name)) and add the users who need it"
            logger.warning("\(text)")
        }
        let owners = policy.daemonUID == 0 ? "root" : "root, uid \(policy.daemonUID) (lockdiagd's own user)"
        logger.info("access: readers are \(owners) and group \(policy.readerGroup); technicians are \(owners) and group \(policy.technicianGroup)")
        return policy
    }

    /// systemd's STATUS= line: what `systemctl status lockdiagd` shows.
    static func statusText(hub: Hub, server: JSONRPCServer) -> String {
        let count = hub.deviceCount()
        let clients = server.statistics.connectionsOpen
        return "\(count.total) lock(s), \(count.online) online; \(clients) client(s); polling at \(hub.loop.configuration.pollHz) Hz"
    }
}

extension JSONRPCServer.Configuration {
    /// The transport's share of the security settings: limits, admission by role, socket group.
    mutating func apply(_ security: SecurityConfiguration, policy: AccessPolicy) {
        maxRequestBytes = security.maxRequestBytes
        maxConnections = security.maxConnections
        reservedPrivilegedConnections = security.technicianConnections
        maxConnectionsPerUser = security.maxConnectionsPerReader
        maxBatchElements = security.maxBatchRequests
        maxReplyBytes = security.maxReplyBytes
        maxRequestsPerSecondPerConnection = security.requestsPerSecond
        requestBurstPerConnection = security.requestBurst
        idleTimeoutSeconds = security.idleTimeoutSeconds
        admission = { peer in policy.admission(peer) }
        // Members of the reader group must be able to connect (0660): give the socket their
        // group, which only root or a member of that group may do.
        if let gid = policy.readerGroup.gid, geteuid() == 0 || Self.processGroups().contains(gid) { socketGroupID = gid }
    }
}

extension JSONRPCServer.Configuration {
    /// This process's effective and supplementary group ids.
    static func processGroups() -> Set<UInt32> {
        var groups: Set<UInt32> = [getegid()]
        let count = getgroups(0, nil)
        guard count > 0 else { return groups }
        var list = [gid_t](repeating: 0, count: Int(count))
        let got = getgroups(count, &list)
        if got > 0 { groups.formUnion(list.prefix(Int(got))) }
        return groups
    }
}
