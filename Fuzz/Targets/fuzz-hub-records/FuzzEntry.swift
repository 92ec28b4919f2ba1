// libFuzzer target `hub-records`: Sources/LockDiagFuzz (FuzzMain.swift) and README, "Fuzzing".
import LockDiagFuzz

@main enum Entry { static func main() { FuzzMain.run() } }
