import Foundation
import JSONRPC
import LinuxIO
import LockDiagAPI
import LockJSON
import Reports

extension APIService {
    /// `commission.start`, `commission.step`, `commission.finish` (docs/socket-api.md
    /// "Commissioning"). Technician methods (AccessPolicy's default), audited like every one.
    func registerCommissioning(into table: inout RPCMethodTable) {
        table.register(APIMethod.commissionStart) { call in
            let params = try call.decodeParams(as: CommissionStartParams.self)
            try Self.requireConfirm(params.confirm, "commissioning throws the bolt")
            let wait = params.waitSeconds ?? CommissionStartParams.defaultWaitSeconds
            guard CommissionStartParams.waitRange.contains(wait) else {
                throw RPCError.invalidParams("wait_s: give \(CommissionStartParams.waitRange.lowerBound) to \(CommissionStartParams.waitRange.upperBound) s")
            }
            let index = try resolve(params.device)
            let id = hub.deviceID(index)
            guard let summary = hub.devices().first(where: { $0.id == id }), summary.online else { throw RPCError.deviceOffline(id) }
            guard summary.capabilities.contains("motor") else {
                throw RPCError.deviceRefused(id, reason: "\(id) has no motor to throw: its IDENTIFY does not list the MOTOR capability — it cannot be commissioned")
            }
            guard summary.capabilities.contains("door_sensor") else {
                throw RPCError.deviceRefused(id, reason: "\(id) has no door sensor (its IDENTIFY does not list DOOR_SENSOR): commissioning compares "
                                             + "door-open and door-closed throws by the lock's own sensor — it cannot be commissioned")
            }
            let (limitsModel, limits) = commissioningLimits.limits(for: summary.model)
            let status = hub.status(of: index)
            let session = CommissioningSession(
                id: UUID().uuidString.lowercased(), device: index, deviceID: id, connection: call.connection.id, limitsModel: limitsModel,
                limits: limits, waitSeconds: wait, steps: Commissioner.steps(capabilities: summary.capabilities, waitSeconds: wait, limits: limits),
                clockStart: status?.uptimeSeconds.map { ($0, MonotonicClock.nanoseconds()) })
            try commissioning.open(session)
            logger.notice("commissioning \(session.id) of \(id) started by \(requester(of: call)) (limits \(limitsModel))")
            return try JSONValue(encoding: CommissionProgress(session: session.id, device: id, limitsModel: limitsModel, result: nil,
                                                              next: session.nextInstruction))
        }
        table.register(APIMethod.commissionStep) { call in
            let session = try commissioning.session(try call.decodeParams(as: CommissionSessionParams.self).session)
            let step: String? = try session.state.withLock { (p) throws(RPCError) -> String? in
                guard !p.running else {
                    throw RPCError(code: RPCError.Code.busy, message: "a step of commissioning \(session.id) is running — wait for its answer",
                                   data: ["device": .string(session.deviceID)])
                }
                guard p.next < session.steps.count else { return nil }
                p.running = true
                return session.steps[p.next].step
            }
            guard let step else {
                throw RPCError.invalidParams("session: every step of \(session.id) has run — call commission.finish for the certificate")
            }
            let result: CommissionStepResult
            do {
                result = try await Commissioner(hub: hub, session: session).run(step)
            } catch {
                // A wait that timed out or a lock that went away leaves the step to run again.
                session.state.withLock { $0.running = false }
                throw error
            }
            session.state.withLock { p in
                p.results.append(result)
                p.next += 1
                p.running = false
            }
            return try JSONValue(encoding: CommissionProgress(session: session.id, device: session.deviceID, limitsModel: session.limitsModel,
                                                              result: result, next: session.nextInstruction))
        }
        table.register(APIMethod.commissionFinish) { call in
            let session = try commissioning.session(try call.decodeParams(as: CommissionSessionParams.self).session)
            let (results, done) = session.state.withLock { ($0.results, $0.next >= session.steps.count && !$0.running) }
            guard done else {
                throw RPCError.invalidParams("session: \(session.id) still has steps to run (next: \(session.nextInstruction?.step ?? "?")) — "
                                             + "run them with commission.step first")
            }
            guard let station else {
                throw RPCError.internalError("this lockdiagd has no station key and history, so it cannot sign a certificate — start it with --db")
            }
            // The parts are checked afresh for the certificate; the last check if that cannot be done now.
            let checked = try? await hub.checkParts(of: session.device)
            let parts = ReportParts(checked ?? hub.parts(of: session.device), notCheckedBecause: hub.partsNotChecked(session.device))
            let certificate = CommissioningCertificate(
                certificateID: UUID().uuidString.lowercased(), createdAt: APITime.format(milliseconds: WallClock.milliseconds()),
                station: ReportStation(host: station.host, software: "lockdiagd \(station.version)", keyFingerprint: station.key.publicKey.fingerprint),
                device: station.reportDevice(session.deviceID, index: session.device, hub: hub),
                limitsModel: session.limitsModel, limits: try JSONValue(encoding: session.limits), steps: results, parts: parts)
            let signed: SignedCommissioningCertificate
            do { signed = try ReportSigner.sign(certificate, with: station.key) } catch {
                throw RPCError.internalError("could not sign the certificate: \(error)")
            }
            let notKept = await station.history.database.offPool { db in
                Station.keep(reportID: certificate.certificateID, device: session.deviceID, createdAt: certificate.createdAt,
                             keyFingerprint: signed.signature.keyFingerprint, signed: signed, in: db)
            }
            commissioning.close(session.id)
            logger.notice("commissioning certificate \(certificate.certificateID) on \(session.deviceID) signed (\(certificate.verdict.rawValue)) for \(requester(of: call))")
            if let notKept { logger.warning("commissioning certificate \(certificate.certificateID) was signed but not kept in the history: \(notKept)") }
            return try JSONValue(encoding: signed)
        }
    }
}
