// The entry point every `fuzz-NAME` executable shares (Fuzz/Targets/fuzz-NAME/FuzzEntry.swift
// only calls `FuzzMain.run()`). `make fuzz` builds with -sanitize=fuzzer,address -DFUZZING,
// where the run hands over to libFuzzer's driver; a plain build makes a replay tool:
// `fuzz-NAME FILE|DIRECTORY...`. The target is the executable's name, so whichever main the
// linker keeps (ours, or the -sanitize=fuzzer runtime's own, which calls
// LLVMFuzzerTestOneInput directly) fuzzes the same target.
import Foundation

#if FUZZING
import CLibFuzzer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzMain.target.fuzzOne(data, size)
    return 0
}
#endif

public enum FuzzMain {
    /// The target named by this executable's file name, `fuzz-NAME`.
    static let target: FuzzTarget = {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").lastPathComponent
        guard executable.hasPrefix("fuzz-"), let target = FuzzTarget.named(String(executable.dropFirst(5))) else {
            FileHandle.standardError.write(Data("\(executable): not a fuzz target's name (fuzz-NAME, one of \(FuzzTarget.all.map(\.name)))\n".utf8))
            exit(64)
        }
        return target
    }()

    public static func run() -> Never {
        #if FUZZING
        _ = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
        #else
        target.replayMain(Array(CommandLine.arguments.dropFirst()))
        #endif
    }
}
