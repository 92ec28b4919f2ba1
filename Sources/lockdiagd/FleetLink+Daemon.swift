import FleetSync
import LockDaemon

// The fleet link is composed here, like the simulated locks: the daemon core does not link PostgreSQL.
extension FleetLink: HistoryCopier {}
