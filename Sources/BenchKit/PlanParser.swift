import Foundation
import LockDiagAPI
import Yams

/// One thing wrong with a plan, where it is and why.
public struct PlanIssue: Sendable, Equatable, CustomStringConvertible {
    /// 1-based line and column in the plan file; nil when the problem is the file as a whole.
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(line: Int?, column: Int? = nil, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        guard let line else { return message }
        return "line \(line)" + (column.map { ", column \($0)" } ?? "") + ": " + message
    }
}

/// A plan that cannot be run, with every problem found (nothing has moved).
public struct PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [PlanIssue]

    public init(_ issues: [PlanIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "\n") }

    /// `plan.yaml:12:5: message` lines, the form editors and CI logs link to.
    public func lines(file: String) -> [String] {
        issues.map { issue in
            guard let line = issue.line else { return "\(file): \(issue.message)" }
            return "\(file):\(line):" + (issue.column.map { "\($0):" } ?? "") + " " + issue.message
        }
    }
}

/// Reads a plan from YAML and checks all of it before anything runs: unknown keys, wrong
/// types, impossible values and steps that cannot work are each reported with their line.
public enum PlanParser {
    /// Plans bigger than this are refused rather than parsed (a plan is a page, not a log).
    public static let maxBytes = 1 << 20
    static let maxCycles = 100_000
    static let maxSeconds = 7 * 86_400.0

    /// Reads a plan file's bytes: UTF-8 text (a byte-order mark is allowed); anything else is
    /// refused with the line of the first byte that is not UTF-8.
    public static func parse(bytes: [UInt8]) throws(PlanError) -> Plan {
        guard bytes.count <= maxBytes else {
            throw PlanError([PlanIssue(line: nil, message: "the plan is larger than \(maxBytes / 1024) KiB — is this the right file?")])
        }
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
        if let text = String(validating: body, as: UTF8.self) { return try parse(text) }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = body.makeIterator()
        var offset = 0
        var line = 1
        var previous: UInt8 = 0
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) {
            // Lines as YAML counts them: LF, CR and CR LF each end one.
            let byte = scalar.count == 1 ? scalar.first! : 0
            if byte == 0x0D || (byte == 0x0A && previous != 0x0D) { line += 1 }
            previous = byte
            offset += scalar.count
        }
        let byte = offset < body.count ? body[body.startIndex + offset] : 0
        throw PlanError([PlanIssue(line: line, message: "the plan is not UTF-8 text (byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(offset)) — save it as UTF-8")])
    }

    public static func parse(_ text: String) throws(PlanError) -> Plan {
        guard text.utf8.count <= maxBytes else {
            throw PlanError([PlanIssue(line: nil, message: "the plan is larger than \(maxBytes / 1024) KiB — is this the right file?")])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PlanError([issue(for: error)])
        } catch {
            throw PlanError([PlanIssue(line: nil, message: "not YAML: \(error)")])
        }
        guard let root else {
            throw PlanError([PlanIssue(line: nil, message: "the plan is empty — see docs/bench.md for an example")])
        }
        var reader = Reader()
        let plan = reader.plan(root)
        if let plan, reader.issues.isEmpty { return plan }
        throw PlanError(reader.issues.isEmpty ? [PlanIssue(line: nil, message: "the plan could not be read")] : reader.issues)
    }

    static func issue(for error: YamlError) -> PlanIssue {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return PlanIssue(line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the first occurrence; the mistake is usually the later one.
            let first = context.mark
            var line = first.line
            if let key = duplicates.first {
                let lines = context.text.split(separator: "\n", omittingEmptySubsequences: false)
                let indent = String(repeating: " ", count: max(0, first.column - 1))
                for (i, text) in lines.enumerated() where i + 1 > first.line {
                    if text.hasPrefix(indent + key), text.dropFirst(indent.count + key.count).trimmingCharacters(in: .whitespaces).hasPrefix(":") {
                        line = i + 1
                        break
                    }
                }
            }
            return PlanIssue(line: line, column: first.column,
                             message: "key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) given twice in the same mapping (first at line \(first.line))")
        default:
            return PlanIssue(line: nil, message: "not valid YAML: \(error)")
        }
    }
}

/// Walks the node tree, collecting issues instead of stopping at the first.
struct Reader {
    var issues: [PlanIssue] = []

    mutating func fail(_ node: Node?, _ message: String) {
        issues.append(PlanIssue(line: node?.mark?.line, column: node?.mark?.column, message: message))
    }

    static let topKeys = ["name", "locks", "limits", "steps", "stop_on_failure", "parallel", "replay"]

    mutating func plan(_ root: Node) -> Plan? {
        guard let top = mapping(root, "the plan", keys: Self.topKeys) else { return nil }
        var name = "bench plan"
        if let node = top["name"] { name = string(node, "name") ?? name }
        var selection = LockSelection()
        if let node = top["locks"] { selection = locks(node) } else {
            fail(root, "missing 'locks': say which locks to test ('locks: all', or 'locks: {model: LX-300}')")
        }
        var limits = Limits()
        if let node = top["limits"] { limits = self.limits(node, "limits") }
        var steps: [Step] = []
        if let node = top["steps"] {
            if case .sequence(let list) = node, !list.isEmpty {
                for (index, item) in list.enumerated() {
                    if let step = step(item, index: index + 1, planLimits: limits) { steps.append(step) }
                }
            } else {
                fail(node, "'steps' must be a list with at least one step (- identify, - actuate: {cycles: 3}, …)")
            }
        } else {
            fail(root, "missing 'steps': the list of what to do to each lock")
        }
        var stopOnFailure = false
        if let node = top["stop_on_failure"] { stopOnFailure = bool(node, "stop_on_failure") ?? false }
        var parallel: Int?
        if let node = top["parallel"] { parallel = integer(node, "parallel", in: 1...256) }
        if let expect = selection.expect, !selection.ids.isEmpty, expect > selection.ids.count {
            fail(top["locks"], "'expect: \(expect)' is more than the \(selection.ids.count) ids listed")
        }
        if !steps.isEmpty, !steps.contains(where: { if case .waitForAttach = $0.action { true } else { false } }), selection.expect != nil {
            fail(top["locks"], "'expect' needs a 'wait_for_attach' step to wait for the locks")
        }
        for (i, step) in steps.enumerated() where i > 0 {
            if case .waitForAttach = step.action {
                issues.append(PlanIssue(line: step.line, message: "'wait_for_attach' must be the first step: it waits for the locks before anything else"))
            }
        }
        var plan = Plan(name: name, selection: selection, limits: limits, steps: steps, stopOnFailure: stopOnFailure, parallel: parallel)
        if let node = top["replay"] { plan.replay = replay(node) }
        return plan
    }

    // MARK: locks

    mutating func locks(_ node: Node) -> LockSelection {
        if case .scalar(let scalar) = node {
            if scalar.string == "all" { return LockSelection() }
            fail(node, "'locks' is 'all' or a mapping with model, ids, expect, join_late — not '\(scalar.string)'")
            return LockSelection()
        }
        guard let m = mapping(node, "locks", keys: ["model", "ids", "expect", "join_late"]) else { return LockSelection() }
        var selection = LockSelection()
        if let n = m["model"] { selection.models = strings(n, "locks.model") }
        if let n = m["ids"] { selection.ids = strings(n, "locks.ids") }
        if let n = m["expect"] { selection.expect = integer(n, "locks.expect", in: 1...256) }
        if let n = m["join_late"] { selection.joinLate = bool(n, "locks.join_late") ?? false }
        if m["model"] != nil && selection.models.isEmpty { fail(m["model"], "'locks.model' names no model") }
        if m["ids"] != nil && selection.ids.isEmpty { fail(m["ids"], "'locks.ids' lists no id") }
        if Set(selection.ids).count != selection.ids.count { fail(m["ids"], "'locks.ids' lists an id twice") }
        return selection
    }

    // MARK: limits

    mutating func limits(_ node: Node, _ path: String) -> Limits {
        guard let m = mapping(node, path, keys: Quantity.allCases.map(\.rawValue)) else { return Limits() }
        var values: [Quantity: Limit] = [:]
        for quantity in Quantity.allCases {
            guard let n = m[quantity.rawValue] else { continue }
            let where_ = "\(path).\(quantity.rawValue)"
            guard let range = mapping(n, where_, keys: ["min", "max"]) else { continue }
            let lo = range["min"].flatMap { integer($0, where_ + ".min", in: quantity.plausible) }
            let hi = range["max"].flatMap { integer($0, where_ + ".max", in: quantity.plausible) }
            if range["min"] == nil && range["max"] == nil { fail(n, "'\(where_)' needs min, max or both, e.g. {max: 1800}"); continue }
            if let lo, let hi, lo > hi { fail(n, "'\(where_)': min \(lo) is above max \(hi)"); continue }
            values[quantity] = Limit(min: lo, max: hi)
        }
        return Limits(values)
    }

    // MARK: steps

    static let stepNames = ["wait_for_attach", "identify", "require_firmware", "self_test", "actuate", "soak", "no_confirmed_faults", "commission",
                            "genuine_parts"]

    mutating func step(_ node: Node, index: Int, planLimits: Limits) -> Step? {
        let line = node.mark?.line ?? 0
        let name: String
        let options: Node?
        switch node {
        case .scalar(let s):
            name = s.string
            options = nil
        case .mapping(let m) where m.count == 1:
            guard let key = m.first!.key.scalar?.string else { fail(node, "step \(index): the step's name must be a word"); return nil }
            name = key
            options = m.first!.value
        case .mapping(let m):
            let names = m.compactMap { $0.key.scalar?.string }.joined(separator: ", ")
            fail(node, "step \(index) has several names (\(names)): each step is its own list item ('- identify', then '- actuate: …'); "
                 + "a step's options go under its name")
            return nil
        default:
            fail(node, "step \(index) must be a step name or 'name: options'")
            return nil
        }
        guard Self.stepNames.contains(name) else {
            fail(node, "step \(index): unknown step '\(name)' — one of \(Self.stepNames.joined(separator: ", "))\(suggestion(name, Self.stepNames))")
            return nil
        }
        let path = "steps[\(index)].\(name)"
        var limits = planLimits
        func optionsMap(_ keys: [String]) -> [String: Node]? {
            guard let options, !isNull(options) else { return [:] }
            return mapping(options, path, keys: keys)
        }
        let action: Step.Action
        switch name {
        case "wait_for_attach":
            var timeout = 60.0
            if let options, !isNull(options) {
                if case .mapping = options {
                    if let m = mapping(options, path, keys: ["timeout"]), let t = m["timeout"] { timeout = duration(t, path + ".timeout") ?? timeout }
                } else {
                    timeout = duration(options, path) ?? timeout
                }
            }
            action = .waitForAttach(timeoutSeconds: timeout)
        case "identify":
            if let options, !isNull(options) { fail(options, "'identify' takes no options") }
            action = .identify
        case "require_firmware":
            var node = options
            if let o = options, case .mapping = o { node = mapping(o, path, keys: ["min"])?["min"] }
            guard let node, !isNull(node), let text = node.scalar?.string else {
                fail(options ?? self.node(line: line), "'require_firmware' needs a version: '- require_firmware: 2.4.0' (or {min: 2.4.0})")
                return nil
            }
            guard let version = FirmwareVersion(text) else {
                fail(node, "'\(text)' is not a firmware version: write MAJOR.MINOR.PATCH, e.g. 2.4.0 (quote it: \"2.4\" would be a number)")
                return nil
            }
            action = .requireFirmware(version)
        case "self_test":
            var testsNode = options
            if let o = options, case .mapping = o {
                guard let m = mapping(o, path, keys: ["tests", "limits"]) else { return nil }
                testsNode = m["tests"]
                if let l = m["limits"] { limits = limits.merging(self.limits(l, path + ".limits")) }
            }
            guard let testsNode, !isNull(testsNode) else {
                fail(options ?? self.node(line: line), "'self_test' needs the tests to run: motor, battery, fingerprint or all (e.g. [battery, fingerprint])")
                return nil
            }
            var kinds: [TestKind] = []
            for (text, n) in stringNodes(testsNode, path) {
                guard let kind = TestKind(rawValue: text) else {
                    fail(n, "unknown self-test '\(text)' — one of motor, battery, fingerprint, all\(suggestion(text, TestKind.allCases.map(\.rawValue)))")
                    continue
                }
                if kinds.contains(kind) { fail(n, "self-test '\(text)' listed twice") } else { kinds.append(kind) }
            }
            if kinds.contains(.all) { kinds = [.motor, .battery, .fingerprint] }
            guard !kinds.isEmpty else { return nil }
            action = .selfTest(kinds)
        case "actuate":
            guard let m = optionsMap(["cycles", "pause", "limits"]) else { return nil }
            var cycles = 1
            if let n = m["cycles"] { cycles = integer(n, path + ".cycles", in: 1...PlanParser.maxCycles) ?? 1 }
            var pause = 0.5
            if let n = m["pause"] { pause = duration(n, path + ".pause", allowZero: true) ?? pause }
            if let l = m["limits"] { limits = limits.merging(self.limits(l, path + ".limits")) }
            action = .actuate(cycles: cycles, pauseSeconds: pause)
        case "soak":
            var seconds: Double?
            if let options, case .mapping = options {
                if let m = mapping(options, path, keys: ["duration"]) {
                    if let d = m["duration"] { seconds = duration(d, path + ".duration") } else { fail(options, "'soak' needs a duration, e.g. {duration: 10m}") }
                }
            } else if let options, !isNull(options) {
                seconds = duration(options, path)
            } else {
                fail(node, "'soak' needs a duration: '- soak: 10m'")
            }
            guard let seconds else { return nil }
            action = .soak(seconds: seconds)
        case "genuine_parts":
            guard optionsMap([]) != nil else { return nil }
            action = .genuineParts
        case "commission":
            guard let m = optionsMap(["wait"]) else { return nil }
            action = .commission(waitSeconds: commissionWait(m["wait"], path + ".wait"))
        default:  // no_confirmed_faults
            guard let m = optionsMap(["ignore"]) else { return nil }
            var ignore: [String] = []
            if let n = m["ignore"] { ignore = strings(n, path + ".ignore") }
            action = .noConfirmedFaults(ignore: ignore)
        }
        return Step(action, limits: limits, line: line)
    }

    // MARK: typed values

    /// A mapping with string keys, each one of `keys`; unknown keys are reported with a hint.
    mutating func mapping(_ node: Node, _ path: String, keys: [String]) -> [String: Node]? {
        guard case .mapping(let m) = node else {
            fail(node, "'\(path)' must be a mapping (key: value), not \(describe(node))")
            return nil
        }
        var out: [String: Node] = [:]
        for (key, value) in m {
            guard let name = key.scalar?.string else { fail(key, "'\(path)': keys must be words"); continue }
            guard keys.contains(name) else {
                fail(key, "'\(path)': unknown key '\(name)' — expected one of \(keys.joined(separator: ", "))\(suggestion(name, keys))")
                continue
            }
            out[name] = value
        }
        return out
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let s) = node, !isNull(node) else { fail(node, "'\(path)' must be text"); return nil }
        return s.string
    }

    mutating func stringNodes(_ node: Node, _ path: String) -> [(String, Node)] {
        switch node {
        case .scalar(let s) where !isNull(node): return [(s.string, node)]
        case .sequence(let list):
            var out: [(String, Node)] = []
            for item in list {
                if case .scalar(let s) = item, !isNull(item) { out.append((s.string, item)) } else { fail(item, "'\(path)' items must be text") }
            }
            return out
        default:
            fail(node, "'\(path)' must be a name or a list of names")
            return []
        }
    }

    mutating func strings(_ node: Node, _ path: String) -> [String] { stringNodes(node, path).map(\.0) }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        if case .scalar(let s) = node {
            switch s.string.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        fail(node, "'\(path)' must be true or false")
        return nil
    }

    mutating func integer(_ node: Node, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let s) = node, let n = Int(s.string.replacingOccurrences(of: "_", with: "")) else {
            fail(node, "'\(path)' must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(describe(node))")
            return nil
        }
        guard range.contains(n) else {
            fail(node, "'\(path)' is \(n): it must be from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return n
    }

    /// `500ms`, `30s`, `10m`, `2h`, or a bare number of seconds.
    mutating func duration(_ node: Node, _ path: String, allowZero: Bool = false) -> Double? {
        guard case .scalar(let s) = node else {
            fail(node, "'\(path)' must be a duration such as 500ms, 30s, 10m or 2h")
            return nil
        }
        let text = s.string.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("min", 60), ("h", 3600)]
        var seconds: Double?
        if let plain = Double(text) { seconds = plain }
        for (suffix, scale) in units.sorted(by: { $0.0.count > $1.0.count }) where seconds == nil && text.hasSuffix(suffix) {
            if let n = Double(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) { seconds = n * scale }
        }
        guard let seconds, seconds.isFinite else {
            fail(node, "'\(path)' is '\(text)', not a duration: write 500ms, 30s, 10m or 2h")
            return nil
        }
        guard seconds > 0 || (allowZero && seconds == 0), seconds <= PlanParser.maxSeconds else {
            fail(node, "'\(path)' must be \(allowZero ? "from 0" : "more than 0") up to 7 days, not \(text)")
            return nil
        }
        return seconds
    }

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node else { return false }
        return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): isNull(node) ? "nothing" : "'\(s.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// A node to hang an issue on when only a line is known.
    func node(line: Int) -> Node? { nil }

    /// ` (did you mean 'cycles'?)` when a known word is one or two edits away.
    func suggestion(_ word: String, _ known: [String]) -> String {
        if word.count >= 4, let longer = known.first(where: { $0.hasPrefix(word) || word.hasPrefix($0) }) { return " (did you mean '\(longer)'?)" }
        let best = known.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= 2, best.1 < word.count else { return "" }
        return " (did you mean '\(best.0)'?)"
    }

    func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        var row = Array(0...y.count)
        for i in 1...max(1, x.count) where !x.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, y.count) where !y.isEmpty {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return row[y.count]
    }
}
