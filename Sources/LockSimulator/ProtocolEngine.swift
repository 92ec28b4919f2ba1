import LockProtocol

// The LDP/1 device side: frames in, answers out (ldp-v1.md §3–§6).
extension SimulatedLock {
    /// Host→device bytes arriving at `now` (any chunking). The model is advanced to `now`
    /// first, so answers reflect the state at the moment the request arrived.
    public func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) {
        if let impaired = impairedReceive(bytes) {
            impaired.withUnsafeBytes { receiveOnLine($0, now: now) }
        } else {
            receiveOnLine(bytes, now: now)
        }
    }

    private func receiveOnLine(_ bytes: UnsafeRawBufferPointer, now: UInt64) {
        advance(to: now)
        countBytesReceived(bytes.count)
        guard !isHung else {
            countIgnoredWhileHung(bytes.count)
            return
        }
        decoder.feed(bytes) { output in
            switch output {
            case .frame(let frame):
                countFrame()
                handle(frame)
            case .error(let error):
                countBadFrame()
                // The header is trustworthy (its CRC matched): a request of another major
                // version is told so; anything else that failed is never answered (§3.2).
                if case .unsupportedVersion(let header) = error, header.kind == .request {
                    sendAnswer(NakCode.unsupportedVersion.frame(seq: header.seq, type: header.type))
                }
            }
        }
    }

    public func receive(_ bytes: [UInt8], now: UInt64) {
        bytes.withUnsafeBytes { receive($0, now: now) }
    }

    private func handle(_ frame: FrameView) {
        let seq = frame.header.seq
        let type = frame.header.type
        guard frame.header.kind == .request else {
            countIgnoredFrame()
            return
        }
        countRequest()
        let request: Request
        do throws(MessageError) {
            request = try Request(type: type, payload: frame.payload)
        } catch {
            switch error {
            case .unknownMessageType: sendAnswer(NakCode.unknownMessage.frame(seq: seq, type: type))
            case .payloadTooShort, .invalidField, .invalidUTF8: sendAnswer(NakCode.malformed.frame(seq: seq, type: type))
            }
            return
        }
        switch request {
        case .actuate(let direction):
            guard !isBusy else { return sendAnswer(NakCode.busy.frame(seq: seq, type: type)) }
            // The answer goes out before the actuation's own events.
            sendAnswer(Response.actuationAccepted(actuation: nextActuationNumber).frame(seq: seq))
            countCommandAccepted()
            _ = startActuation(direction, source: .host)
        case .runSelfTest(let kind):
            guard !isBusy else { return sendAnswer(NakCode.busy.frame(seq: seq, type: type)) }
            // §6.7: a test that moves the bolt is refused while the door is open.
            guard !(kind == .motor && doorOpen) else { return sendAnswer(NakCode.refused.frame(seq: seq, type: type)) }
            sendAnswer(Response.selfTestAccepted(kind, expectedDurationMilliseconds: expectedMilliseconds(kind)).frame(seq: seq))
            countCommandAccepted()
            startSelfTest(kind)
        default:
            switch answer(request) {
            case .success(let response): sendAnswer(response.frame(seq: seq))
            case .failure(let nak): sendAnswer(nak.frame(seq: seq, type: type))
            }
        }
    }

    /// Answers to the requests that only read or clear.
    private func answer(_ request: Request) -> Result<Response, NakCode> {
        switch request {
        case .identify:
            return .success(.identify(identity))
        case .readStatus:
            return .success(.status(status))
        case .readMotorTrace(let wanted):
            guard trace.holdsTrace, wanted.actuation == TraceRequest.latest || wanted.actuation == trace.actuation else {
                return .failure(.notAvailable)
            }
            return .success(.motorTrace(trace.chunk(firstIndex: Int(wanted.firstIndex), maxCount: Int(wanted.maxCount))))
        case .readFingerprintStatus:
            return .success(.fingerprint(fingerprint.status(now: nowNanoseconds)))
        case .readFaults:
            return .success(.faults(faults.records))
        case .clearFaults(let code):
            return .success(.faultsCleared(count: UInt8(clamping: faults.clear(code))))
        case .listParts(let index):
            // An LDP/1.0 lock does not know the type (§4.3).
            guard configuration.servesParts else { return .failure(.unknownMessage) }
            return .success(.parts(parts.listing(index: index)))
        case .provePart(let challenge):
            guard configuration.servesParts else { return .failure(.unknownMessage) }
            return parts.prove(challenge, lockSerial: configuration.serial).map(Response.partProof)
        case .actuate, .runSelfTest:
            // Handled with their side effects in `handle`.
            return .failure(.unknownMessage)
        }
    }
}
