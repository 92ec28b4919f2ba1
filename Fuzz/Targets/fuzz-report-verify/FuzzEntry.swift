// libFuzzer target `report-verify` (see Sources/LockDiagFuzz and README, "Fuzzing"). `make fuzz` builds it
// with -sanitize=fuzzer,address -DFUZZING, where main hands over to libFuzzer's driver (the
// runtime's own main, which the linker also pulls in, would call LLVMFuzzerTestOneInput: the
// same thing); a plain build makes a replay tool: `fuzz-report-verify FILE|DIRECTORY...`.
import LockDiagFuzz

#if FUZZING
import CLibFuzzer
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    target.fuzzOne(data, size)
    return 0
}

@main
enum Fuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
    }
}
#else
@main
enum Replay {
    static func main() { target.replayMain(Array(CommandLine.arguments.dropFirst())) }
}
#endif

private let target = FuzzTarget.named("report-verify")!
