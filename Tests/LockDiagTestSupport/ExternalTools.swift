import Foundation

// Real parsers from Debian packages that `make deps` installs, used to check lockdiag's output
// formats: xmllint (libxml2-utils) for JUnit XML, Python's csv module for CSV, and
// prometheus_client's exposition parser (python3-prometheus-client) for metrics.

/// Runs a program with stdin, returning its status, stdout and stderr.
public func runTool(_ path: String, _ arguments: [String], input: String = "") throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // Each pipe drained on its own thread, so neither a long input nor a chatty tool can fill
    // a pipe buffer and block the other side.
    let group = DispatchGroup()
    // nonisolated(unsafe): each is written by one reader thread and read only after group.wait().
    nonisolated(unsafe) var out = Data(), err = Data()
    DispatchQueue.global().async(group: group) { out = stdout.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { err = stderr.fileHandleForReading.readDataToEndOfFile() }
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// Validates JUnit XML against Tests/Schemas/junit-10.xsd with xmllint (Debian libxml2-utils).
public func validateJUnit(_ xml: String) throws -> (valid: Bool, message: String) {
    let schema = TestSupport.repositoryRoot.appendingPathComponent("Tests/Schemas/junit-10.xsd").path
    let r = try runTool("/usr/bin/xmllint", ["--noout", "--schema", schema, "-"], input: xml)
    return (r.status == 0, r.err)
}

/// Parses CSV with Python's csv module (a real RFC 4180 reader) and returns the rows as JSON.
public func parseCSV(_ text: String) throws -> [[String]] {
    let script = "import csv, io, json, sys; print(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline='')))))"
    let r = try runTool("/usr/bin/python3", ["-c", script], input: text)
    guard r.status == 0 else { throw CSVParseFailed(message: r.err) }
    return try JSONDecoder().decode([[String]].self, from: Data(r.out.utf8))
}

public struct CSVParseFailed: Error { public var message: String }

/// Fetches `url` and parses it with prometheus_client's `text_string_to_metric_families`;
/// returns every sample as `name`, `labels`, `value`, plus each family's `type`, or throws with
/// the parser's complaint.
public func scrapeMetrics(_ url: String) throws -> (samples: [MetricSample], types: [String: String], raw: String) {
    let script = """
        import json, sys, urllib.request
        from prometheus_client.parser import text_string_to_metric_families
        raw = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode("utf-8")
        samples, types = [], {}
        for family in text_string_to_metric_families(raw):
            types[family.name] = family.type
            for s in family.samples:
                samples.append({"name": s.name, "labels": s.labels, "value": s.value})
        print(json.dumps({"samples": samples, "types": types, "raw": raw}))
        """
    let r = try runTool("/usr/bin/python3", ["-c", script, url])
    guard r.status == 0 else { throw MetricsParseFailed(message: r.err) }
    struct Output: Decodable {
        var samples: [MetricSample]
        var types: [String: String]
        var raw: String
    }
    let decoded = try JSONDecoder().decode(Output.self, from: Data(r.out.utf8))
    return (decoded.samples, decoded.types, decoded.raw)
}

/// One sample as prometheus_client parsed it.
public struct MetricSample: Decodable, Sendable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
}

public struct MetricsParseFailed: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
