// libFuzzer target `commissioning-limits`: Sources/LockDiagFuzz (FuzzMain.swift) and README, "Fuzzing".
import LockDiagFuzz

@main enum Entry { static func main() { FuzzMain.run() } }
