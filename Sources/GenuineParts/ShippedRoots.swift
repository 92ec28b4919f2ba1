/// The maker roots a station trusts by default: firmware-specs/parts/roots/*.json, one entry per
/// file (PartTrustTests fails when the two differ). Their private keys are not in the repository.
/// The simulator's demo root is deliberately not here (DemoMaker.swift).
enum ShippedRoots {
    static let all: [TrustedRoot] = [
        TrustedRoot(makerID: 1, maker: "LX lock maker, production root 2026",
                    publicKey: PartKeys.bytes(hex: "648cb3cff22acec34d1bf43634caf6b5bae0928eca5748aead9cb453c12f01f7")!,
                    origin: "shipped: lx-production-2026.json"),
    ]
}
