import Foundation
import LockDiagTestSupport
import Testing

/// Every `--help` of the three executables, and of each lockdiag subcommand, fits an 80-column
/// terminal: no line over 79 characters, and the overview and discussion come out as written —
/// swift-argument-parser re-wraps a line longer than the terminal, leaving a word or two alone
/// on the next line ("(see" in lockdiagd's).
@Suite struct HelpWidthTests {
    /// The help of `product` with `path` (subcommand names), and the subcommands it lists.
    static func help(_ product: String, _ path: [String], columns: Int = 80) throws -> (text: String, subcommands: [String]) {
        let run = try ChildProcess.run(product, path + ["--help"], environment: ["COLUMNS": "\(columns)"], timeoutSeconds: 30)
        #expect(run.status == 0, "\(product) \(path) --help: \(run.stderr)")
        var subcommands: [String] = []
        var inSection = false
        for line in run.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") { inSection = true; continue }
            if inSection, line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first,
               name.first?.isLetter == true, !line.contains("See '") {
                subcommands.append(String(name))
            }
            if inSection, line.isEmpty { inSection = false }
        }
        return (run.stdout, subcommands)
    }

    /// Lines over 79 columns, and words left alone: a prose line the parser made by re-wrapping
    /// for 80 columns (it is not a line at 200 columns) that is short yet followed by more of its
    /// paragraph — what a hand-wrapped line a little over 80 columns turns into.
    static func problems(_ product: String, _ path: [String], _ text: String) throws -> [String] {
        func prose(_ text: String) -> [Substring] {
            String(text[..<(text.range(of: "\nUSAGE:")?.lowerBound ?? text.endIndex)]).split(separator: "\n", omittingEmptySubsequences: false)
        }
        var problems = text.split(separator: "\n").filter { $0.count > 79 }.map(String.init)
        let written = Set(prose(try help(product, path, columns: 200).text))
        let narrow = prose(text)
        for (index, line) in narrow.enumerated().dropLast() where !written.contains(line) && line.count < 40 && !narrow[index + 1].isEmpty {
            problems.append("left alone by re-wrapping: '\(line)' before '\(narrow[index + 1])'")
        }
        return problems
    }

    @Test(arguments: ["lockdiagd", "locksim"]) func daemonAndSimulatorHelpFits(_ product: String) throws {
        let wide = try Self.problems(product, [], try Self.help(product, []).text)
        #expect(wide.isEmpty, "\(product) --help does not fit 80 columns:\n\(wide.joined(separator: "\n"))")
    }

    @Test func everyLockdiagHelpFits() throws {
        var pending: [[String]] = [[]]
        var seen = 0
        while let path = pending.popLast() {
            let (text, subcommands) = try Self.help("lockdiag", path)
            seen += 1
            let wide = try Self.problems("lockdiag", path, text)
            #expect(wide.isEmpty, "lockdiag \(path.joined(separator: " ")) --help does not fit 80 columns:\n\(wide.joined(separator: "\n"))")
            pending += subcommands.filter { $0 != "help" }.map { path + [$0] }
        }
        #expect(seen > 12, "the root and every subcommand were read")
    }
}
