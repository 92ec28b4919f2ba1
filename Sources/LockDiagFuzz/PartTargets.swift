import GenuineParts
import LockProtocol

extension FuzzTarget {
    /// A part certificate as a counterfeit part might send it (firmware-specs/ldp-v1.md §6.9.1).
    static let partCertificates = FuzzTarget(
        name: "part-certificates",
        summary: "Part certificates (LIST_PARTS) of any bytes, alone and under an intermediate: parsing and the chain check never trap, what parses re-encodes to itself, and no certificate passes once a signature byte is changed."
    ) { input in
        var findings: [String] = []
        let bytes = [UInt8](input)
        let verifier = PartVerifier(trust: TrustStore(roots: [DemoMaker.root]))
        if let certificate = try? PartCertificate(bytes: bytes), certificate.encoded != bytes {
            findings.append("a certificate that parses does not re-encode to its bytes")
        }
        // The input as a leaf alone, and as a leaf under the demo intermediate.
        for chain in [[bytes], [bytes, DemoMaker.intermediateCertificate]] {
            let part = ListedPart(kind: PartKind(rawValue: bytes.count > 1 ? bytes[1] : 1), serial: "FUZZ", certificates: chain)
            guard case .success = verifier.checkChain(part, lockMakerID: DemoMaker.makerID, nowSeconds: 1_780_000_000), let last = bytes.indices.last else { continue }
            var forged = bytes
            forged[last] ^= 0x01
            var tampered = part
            tampered.certificates[0] = forged
            if case .success = verifier.checkChain(tampered, lockMakerID: DemoMaker.makerID, nowSeconds: 1_780_000_000) {
                findings.append("a certificate still passes with a changed signature byte")
            }
        }
        return findings
    }
}
