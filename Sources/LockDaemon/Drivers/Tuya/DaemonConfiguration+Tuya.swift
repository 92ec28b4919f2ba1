/// Which dialect each `--serial` speaks, and which tap line goes with which.
extension DaemonConfiguration {
    /// One `--dialect` applies to every `--serial`; several pair with them in order.
    public func dialect(forSerial index: Int) -> DialectSpec {
        if serialDialects.count == 1 { return serialDialects[0] }
        return index < serialDialects.count ? serialDialects[index] : .ldp
    }

    /// The `--serial-rx` (module TX) line of the `tuya-sniff` serial at `index`: the n-th
    /// `--serial-rx` goes with the n-th `tuya-sniff` serial.
    public func modulePath(forSerial index: Int) -> String? {
        guard index < serialPaths.count, dialect(forSerial: index).kind == .tuyaSniff else { return nil }
        let position = (0..<index).filter { dialect(forSerial: $0).kind == .tuyaSniff }.count
        return position < serialRxPaths.count ? serialRxPaths[position] : nil
    }

    /// Problems with `--dialect` / `--serial-rx` as given, in words.
    public func dialectProblems() -> [String] {
        var problems: [String] = []
        if serialDialects.count > 1 && serialDialects.count != serialPaths.count {
            problems.append("\(serialDialects.count) --dialect for \(serialPaths.count) --serial: give one --dialect for all, or one per --serial in the same order")
        }
        let sniffers = serialPaths.indices.filter { dialect(forSerial: $0).kind == .tuyaSniff }.count
        if serialRxPaths.count > sniffers {
            problems.append("--serial-rx is the second line of a tap: give at most one per --serial with --dialect tuya-sniff (\(sniffers) here)")
        }
        return problems
    }
}
