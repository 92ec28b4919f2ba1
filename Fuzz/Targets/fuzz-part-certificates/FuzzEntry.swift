// libFuzzer target `part-certificates`: Sources/LockDiagFuzz (FuzzMain.swift) and README, "Fuzzing".
import LockDiagFuzz

@main enum Entry { static func main() { FuzzMain.run() } }
