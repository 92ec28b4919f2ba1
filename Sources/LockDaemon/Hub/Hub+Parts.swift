import GenuineParts
import LinuxIO
import LockDiagAPI
import LockProtocol

/// The genuine-part check (firmware-specs/ldp-v1.md §6.9): LIST_PARTS for each accessory, its
/// certificate chain against the station's trusted roots, then PROVE_PART with a fresh random
/// challenge. It runs as a task of commands like a trace re-read, so the poll loop only ever
/// queues requests; it starts when an LDP/1.1 lock answers IDENTIFY and on `device.parts`.
extension Hub {
    /// Checks every part of the lock in `index` now, records the verdicts and raises or clears
    /// `counterfeit_part` and `unverified_part`.
    public func checkParts(of index: Int) async throws(HubError) -> PartsResult {
        let id = deviceID(index)
        guard isOnline(index) else { throw .offline(id) }
        // A recording answers only what it recorded: never a fresh challenge.
        guard state.read({ $0.devices[index]?.transport }) != "replay" else {
            throw .refused("\(id) is a replayed recording, which cannot sign a fresh challenge: its parts are checked only on the live lock")
        }
        guard let identity = state.read({ $0.devices[index]?.identity }) else {
            throw .refused("\(id): no LDP/1 IDENTIFY answer from this lock yet — retry in a second; a Tuya or standard-GATT lock has no genuine-part check")
        }
        guard identity.capabilities.contains(.genuineParts) else {
            throw .refused("\(id): this lock's firmware \(identity.firmwareVersion) has no genuine-part check (LDP/1.1 capability GENUINE_PARTS); nothing to check")
        }
        let verifier = PartVerifier(trust: partTrust.withLock { $0 })
        let nowMilliseconds = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
        var checks: [PartCheck] = []
        var problem: String?
        switch await listing(0, of: index) {
        case .failure(let why):
            problem = "the lock did not list its parts: \(why)"
        case .success(let first):
            for partIndex in 0..<first.count {
                let listed = partIndex == 0 ? Result.success(first) : await listing(partIndex, of: index)
                switch listed {
                case .failure(let why):
                    checks.append(PartCheck(kind: PartKind(rawValue: 0), serial: "part \(partIndex)", verdict: .unverified,
                                            evidence: "the lock did not list this part: \(why)"))
                case .success(let listing):
                    guard let part = listing.part else { continue }
                    checks.append(await check(part, at: partIndex, listing: listing, lockSerial: identity.serial, verifier: verifier,
                                              nowSeconds: nowMilliseconds / 1000, of: index))
                }
            }
        }
        let result = PartsResult(device: id, checkedAt: APITime.format(milliseconds: nowMilliseconds),
                                 parts: checks.map(PartStatus.init), problem: problem)
        record(result, checks: checks, at: nowMilliseconds, device: index)
        return result
    }

    /// The check an attaching lock gets, logged instead of returned.
    func checkPartsOnAttach(device index: Int) async {
        do {
            let result = try await checkParts(of: index)
            let failing = result.parts.filter { !$0.isGenuine }
            logger.info("\(result.device): \(result.parts.count) part(s) checked, \(failing.count) not genuine\(result.problem.map { " — \($0)" } ?? "")")
        } catch {
            logger.notice("\(deviceID(index)): genuine-part check not run: \(error)")
        }
    }

    private func listing(_ partIndex: UInt8, of index: Int) async -> Result<PartListing, PartQueryFailure> {
        switch await command(.listParts(index: partIndex), to: index) {
        case .response(.parts(let listing)): .success(listing)
        case let other: .failure(PartQueryFailure(other))
        }
    }

    private func check(_ part: ListedPart, at partIndex: UInt8, listing: PartListing, lockSerial: String, verifier: PartVerifier,
                       nowSeconds: Int64, of index: Int) async -> PartCheck {
        // A chain that fails already decides the verdict: no need to ask the part to sign.
        if case .failure(let failure) = verifier.checkChain(part, lockMakerID: listing.makerID, nowSeconds: nowSeconds) { return failure.check }
        var generator = SystemRandomNumberGenerator()
        let challenge = (0..<PartChallenge.lengths.upperBound).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let answer: ProofAnswer = switch await command(.provePart(PartChallenge(index: partIndex, challenge: challenge)), to: index) {
        case .response(.partProof(let proof)): .answered(proof)
        case let other: .noAnswer(PartQueryFailure(other).description)
        }
        return verifier.check(part, lockMakerID: listing.makerID, lockSerial: lockSerial, challenge: challenge, answer: answer,
                              nowSeconds: nowSeconds)
    }

    private func record(_ result: PartsResult, checks: [PartCheck], at now: Int64, device index: Int) {
        var effects = Effects()
        state.withLock { s in
            guard var d = s.devices[index] else { return }
            d.parts = result
            for code in [FaultCode.counterfeitPart, FaultCode.unverifiedPart] {
                var failing = checks.filter { $0.verdict.faultCode == code }.map { "\($0.kind.title) \($0.serial): \($0.verdict.rawValue), \($0.evidence)" }
                if code == FaultCode.unverifiedPart, let problem = result.problem { failing.append(problem) }
                if failing.isEmpty {
                    passCheck(code, device: &d, effects: &effects)
                } else {
                    failCheck(code, kind: .condition, fromDevice: false, at: now, evidence: failing.joined(separator: "; "), confirmed: true,
                              device: &d, effects: &effects)
                }
            }
            s.devices[index] = d
            commitHistory(&effects)
        }
        for line in effects.log { logger.info("\(line)") }
        for (device, notification) in effects.notifications { deliver(notification, device: device) }
    }

    /// The last check's verdicts, nil before the first.
    public func parts(of index: Int) -> PartsResult? { state.read { $0.devices[index]?.parts } }

    /// Why no check is on record for the lock in `index` (nil: not connected to this station now).
    public func partsNotChecked(_ index: Int?) -> String {
        guard let index, isOnline(index) else { return "the lock is not connected to this station" }
        guard let identity = state.read({ $0.devices[index]?.identity }) else {
            return "the lock speaks no LDP/1 (Tuya, standard GATT): it has no genuine-part check"
        }
        return identity.capabilities.contains(.genuineParts)
            ? "the check has not finished yet — run `lockdiag parts \(deviceID(index))`"
            : "its firmware \(identity.firmwareVersion) has no genuine-part check (LDP/1.1 GENUINE_PARTS)"
    }
}

/// Why a LIST_PARTS or PROVE_PART brought no usable answer, in words.
private struct PartQueryFailure: Error, CustomStringConvertible {
    let description: String

    init(_ outcome: CommandOutcome) {
        description = switch outcome {
        case .nak(let code): "the lock answered NAK \(code.name)\(code == .hardwareFailure ? " (the part did not answer the controller)" : "")"
        case .timeout: "no answer in time"
        case .failed: "the link went away"
        case .undecodable(let error): "unusable answer: \(error)"
        case .response(let r): "unexpected answer \(r.type)"
        }
    }
}

extension PartStatus {
    init(_ check: PartCheck) {
        self.init(kind: check.kind.rawValue == 0 ? "unknown" : check.kind.name, serial: check.serial, verdict: check.verdict.rawValue,
                  evidence: check.evidence,
                  validUntil: check.notAfterSeconds.map { String(APITime.format(milliseconds: Int64($0) * 1000).prefix(10)) },
                  root: check.root)
    }
}
