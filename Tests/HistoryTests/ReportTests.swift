import Foundation
import LockDiagAPI
import LockDiagTestSupport
import LockJSON
import Reports
import Testing

/// A small but complete report: every kind of member the real ones have.
func sampleReport(fingerprint: String) -> DiagnosticReport {
    let summary = ActuationSummary(actuation: 12, direction: "lock", source: "selftest", result: "stalled", durationMilliseconds: 420,
                                   peakCurrentMilliamps: 1480, runningCurrentMilliamps: 190, batteryRestMillivolts: 6010,
                                   batteryLoadedMillivolts: 5720, internalResistanceMilliohms: 1526, endStopAtMilliseconds: 312,
                                   analysis: "stall", samples: 8, sampleRateHz: 1000, at: "2026-11-28T09:00:01.000Z")
    let fault = Fault(device: "LX3-000123", code: "0x0101", name: "motor_stall", title: "Motor stall / jammed bolt", category: "motor",
                      severity: "error", status: .confirmed, source: "host", count: 2, firstSeen: "2026-11-28T09:00:00.000Z",
                      lastSeen: "2026-11-28T09:00:01.000Z",
                      freezeFrame: FreezeFrame(capturedAt: "2026-11-28T09:00:01.000Z", evidence: "1480 mA for 35 ms at 312 ms — \"jam\"\n",
                                               temperatureCelsius: 21.5),
                      meaning: "The bolt did not reach its end position.", advice: "Check the strike plate → and the door's alignment.")
    return DiagnosticReport(
        reportID: "5b0c3f1e-0000-4000-8000-000000000001", createdAt: "2026-11-28T09:05:00.000Z",
        station: ReportStation(host: "bench-3", software: "lockdiagd 0.1.0", keyFingerprint: fingerprint),
        device: ReportDevice(id: "LX3-000123", serial: "LX3-000123", model: "LX-300", hardwareRevision: "C", firmware: "2.4.1",
                             transport: "serial", path: "/dev/ttyACM0", state: "online", firstSeen: "2026-11-01T08:00:00.000Z",
                             firmwareHistory: [FirmwareSeen(version: "2.4.1", firstSeen: "2026-11-01T08:00:00.000Z", lastSeen: "2026-11-28T09:00:00.000Z")]),
        verdict: ReportVerdict.judge(faults: [fault], selfTests: []), status: nil, activeFaults: [fault],
        faultHistory: [FaultEvent(id: 1, device: "LX3-000123", code: "0x0101", name: "motor_stall", title: "Motor stall / jammed bolt",
                                  severity: "error", event: .confirmed, status: .confirmed, at: "2026-11-28T09:00:01.000Z", count: 2,
                                  firstSeen: "2026-11-28T09:00:00.000Z", source: "host", evidence: "stall", freezeFrame: nil, advice: "x")],
        faultHistoryTruncated: false, selfTests: [],
        actuations: [ReportActuation(summary: summary, trace: MotorTrace(actuation: 12, sampleRateHz: 1000,
                                                                         samplesMilliamps: [900, 400, 190, 188, 191, 1480, 1479, 1200]),
                                     battery: [BatteryPoint(offsetMilliseconds: -20, batteryMillivolts: 6010, motorCurrentMilliamps: 0),
                                               BatteryPoint(offsetMilliseconds: 100, batteryMillivolts: 5720, motorCurrentMilliamps: 190)])],
        thresholds: ReportThresholds(stallCurrentMilliamps: 700, stallToRunningRatio: 2.5, overcurrentMilliamps: 2500,
                                     openCircuitMaxMilliamps: 40, wornResistanceMilliohms: 1200, batteryLowPercent: 20, batteryCriticalPercent: 5))
}

@Suite struct CanonicalJSONTests {
    @Test func numbersAreWrittenAsECMAScriptDoesPerRFC8785() {
        // RFC 8785 §3.2.2.3 and its Appendix B examples.
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (2.5, "2.5"), (4.50, "4.5"), (2e-3, "0.002"), (0.000001, "0.000001"),
            (0.0000001, "1e-7"), (1e-27, "1e-27"), (1e30, "1e+30"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
            (333333333.33333329, "333333333.3333333"), (9007199254740992, "9007199254740992"), (Double("123456789012345680000")!, "123456789012345680000"),
            (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (-1e-7, "-1e-7"), (21.5, "21.5"),
            (0.1 + 0.2, "0.30000000000000004"),
        ]
        for (value, expected) in cases {
            #expect(CanonicalJSON.ecmaScript(value) == expected, "\(value)")
        }
    }

    @Test func membersAreSortedByUTF16CodeUnitsAndStringsMinimallyEscaped() throws {
        // The sorting example of RFC 8785 §3.2.3: UTF-16 order puts U+1F600 (a surrogate pair) before U+FB33.
        let input = #"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#
        let out = CanonicalJSON.string(try JSONValue(parsingForCanonicalForm: input))
        let order = ["\r", "1", "\u{80}", "ö", "€", "😀", "דּ"].map { CanonicalJSON.string(.string($0)) }
        var position = out.startIndex
        for key in order {
            let found = try #require(out.range(of: key + ":", range: position..<out.endIndex), "key \(key) out of order in \(out)")
            position = found.upperBound
        }
        #expect(CanonicalJSON.string(.string("a\"b\\c\u{1}\u{1f}\t\n/é\u{2028}")) == "\"a\\\"b\\\\c\\u0001\\u001f\\t\\n/é\u{2028}\"")
        #expect(CanonicalJSON.string(try JSONValue(parsingForCanonicalForm: " [ 1 , 2.50 ,-0, 1E2, true,null , {\"b\":1, \"a\" : [] } ] ")) == "[1,2.5,0,100,true,null,{\"a\":[],\"b\":1}]")
    }

    @Test func theParserRefusesAmbiguousOrBrokenInput() {
        let bad = [#"{"a":1,"a":2}"#, "[1,]", "{\"a\":1} x", #""\ud800""#, #""\udc00x""#, "01", "1.", ".5", "+1", "[1e]", "nul",
                   "\"tab\there\"", "{'a':1}", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)]
        for text in bad {
            #expect(throws: JSONParseError.self, "accepted \(text)") { try JSONValue(parsingForCanonicalForm: text) }
        }
        #expect(throws: JSONParseError.self) { try JSONValue(parsingForCanonicalForm: [0x22, 0xC3, 0x28, 0x22]) }  // invalid UTF-8
    }
}

@Suite struct SignedReportTests {
    let dir: TemporaryDirectory
    let key: StationKey

    init() throws {
        dir = try TemporaryDirectory(prefix: "rep")
        key = try StationKey.create(path: dir.path + "/station.key")
    }

    @Test func theStationKeyIsPrivateStableAndRefusedWhenExposed() throws {
        defer { dir.remove() }
        var info = stat()
        #expect(stat(key.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let (again, created) = try StationKey.loadOrCreate(path: key.path)
        #expect(!created)
        #expect(again.publicKey == key.publicKey)
        #expect(key.publicKey.fingerprint.hasPrefix("SHA256:"))
        #expect(!key.publicKey.fingerprint.contains("="))

        chmod(key.path, 0o644)
        #expect(throws: StationKeyError.tooOpen(path: key.path, mode: "644")) { try StationKey.load(path: key.path) }
        let garbage = dir.path + "/garbage.key"
        _ = FileManager.default.createFile(atPath: garbage, contents: Data("private: not-base64!\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(throws: StationKeyError.notAKey(path: garbage)) { try StationKey.load(path: garbage) }
        // The public half, as `verify --key` takes it: the key, its fingerprint, or a file holding either.
        #expect(TrustedKey.parse(key.publicKey.base64) == .key(key.publicKey))
        #expect(TrustedKey.parse(key.publicKey.fingerprint) == .fingerprint(key.publicKey.fingerprint))
        #expect(TrustedKey.parse(key.path) == .key(key.publicKey))
        #expect(TrustedKey.parse("not a key") == nil)
        #expect(TrustedKey.parse("SHA256:short") == nil)
    }

    /// The key is opened once, without following a link, and its owner and mode are checked on
    /// that descriptor before it is read from it.
    @Test func aStationKeyOfAnotherUserOrBehindALinkIsRefused() throws {
        defer { dir.remove() }
        let foreign = dir.path + "/foreign.key"
        _ = try StationKey.create(path: foreign)
        #expect(chown(foreign, 4242, 4242) == 0)
        #expect(throws: StationKeyError.wrongOwner(path: foreign, owner: 4242, expected: geteuid())) { try StationKey.load(path: foreign) }
        #expect(throws: StationKeyError.wrongOwner(path: foreign, owner: 4242, expected: geteuid())) { try StationKey.loadOrCreate(path: foreign) }

        let link = dir.path + "/link.key"
        #expect(symlink(key.path, link) == 0)
        #expect(throws: StationKeyError.symbolicLink(path: link)) { try StationKey.load(path: link) }
        #expect(throws: StationKeyError.symbolicLink(path: link)) { try StationKey.loadOrCreate(path: link) }
        // A dangling link is not "no key yet": nothing is created through it.
        let dangling = dir.path + "/dangling.key"
        #expect(symlink(dir.path + "/nowhere.key", dangling) == 0)
        #expect(throws: StationKeyError.self) { try StationKey.loadOrCreate(path: dangling) }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/nowhere.key"))

        let fifo = dir.path + "/fifo.key"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: StationKeyError.unreadable(path: fifo, reason: "not a regular file")) { try StationKey.load(path: fifo) }
        // The genuine key still loads.
        #expect(try StationKey.load(path: key.path).publicKey == key.publicKey)
    }

    @Test func aSignedReportVerifiesPrettyPrintedOrNotAndAgainstItsStationKey() throws {
        defer { dir.remove() }
        let signed = try ReportSigner.sign(sampleReport(fingerprint: key.publicKey.fingerprint), with: key)
        let file = try ReportSigner.fileBytes(signed)
        #expect(file.last == 0x0A && !file.dropLast().contains(0x0A), "the file is one canonical line")
        let plain = ReportVerifier.verify(fileBytes: file)
        #expect(plain.valid)
        #expect(plain.verdict == .unknownKey, "no trusted key: the signature proves nothing about who made it")
        #expect(plain.report == signed.report)
        #expect(ReportVerifier.verify(fileBytes: file, trusted: .key(key.publicKey)).trusted == true)
        #expect(ReportVerifier.verify(fileBytes: file, trusted: .fingerprint(key.publicKey.fingerprint)).verdict == .trusted)

        // Whitespace is not content: a pretty-printed copy still verifies.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        #expect(ReportVerifier.verify(fileBytes: [UInt8](try encoder.encode(signed))).valid)

        // Another station's key: the signature is fine, but it is not ours.
        let other = try StationKey.create(path: dir.path + "/other.key")
        let foreign = ReportVerifier.verify(fileBytes: file, trusted: .key(other.publicKey))
        #expect(foreign.verdict == .unknownKey)
        #expect(foreign.reason.contains("not a trusted station key"))
    }

    @Test func changingAnyByteOfTheSignedContentMakesItInvalid() async throws {
        let path = dir.path + "/station.key"
        defer { dir.remove() }
        try await offPool { try Self.tamperEveryByte(StationKey.load(path: path)) }
    }

    static func tamperEveryByte(_ key: StationKey) throws {
        let signed = try ReportSigner.sign(sampleReport(fingerprint: key.publicKey.fingerprint), with: key)
        let file = try ReportSigner.fileBytes(signed)
        let text = String(decoding: file, as: UTF8.self)
        let start = text.utf8.distance(from: text.startIndex, to: text.range(of: "\"report\":")!.lowerBound)
        let end = text.utf8.distance(from: text.startIndex, to: text.range(of: ",\"signature\":")!.lowerBound)
        #expect(end - start > 2000)
        var stillValid: [Int] = []
        // Every byte of the signed content and of the signature block (the low bit flipped; every
        // seventh also its letter case).
        for offset in 0..<(file.count - 1) {
            for change: UInt8 in offset % 7 == 0 ? [0x01, 0x20] : [0x01] {
                var tampered = file
                tampered[offset] ^= change
                if tampered[offset] == file[offset] { continue }
                if ReportVerifier.verify(fileBytes: tampered).valid { stillValid.append(offset) }
            }
        }
        #expect(stillValid.isEmpty, "still valid after changing byte(s) \(stillValid.prefix(10)) of \(file.count)")

        // Content moved out of the signed object, or added next to it, is refused too.
        var extra = try JSONValue(parsingForCanonicalForm: file)
        if case .object(var top) = extra {
            top["note"] = .string("the lock was fine")
            extra = .object(top)
        }
        #expect(!ReportVerifier.verify(fileBytes: CanonicalJSON.bytes(extra)).valid)
        #expect(!ReportVerifier.verify(fileBytes: Array("{\"report\":{}}".utf8)).valid)
        #expect(!ReportVerifier.verify(fileBytes: Array("not json at all".utf8)).valid)
    }

    @Test func theHTMLPageCarriesTheSignedReportAndPlotsTheTrace() throws {
        defer { dir.remove() }
        let signed = try ReportSigner.sign(sampleReport(fingerprint: key.publicKey.fingerprint), with: key)
        let page = try ReportHTML.render(signed)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(ReportVerifier.verify(fileBytes: Array(page.utf8), trusted: .key(key.publicKey)).valid)
        // Strings that look like markup are escaped in the page and survive in the embedded JSON.
        #expect(page.contains("&quot;jam&quot;"))
        #expect(!page.contains("<script>"))
        // The trace is a polyline with one point per sample, and the stall threshold a dashed line.
        let trace = try #require(page.range(of: "<svg class=\"chart motor-trace\""))
        let svg = page[trace.lowerBound...].prefix { _ in true }
        let polyline = try #require(svg.range(of: "points=\""))
        let points = svg[polyline.upperBound...].prefix { $0 != "\"" }.split(separator: " ")
        #expect(points.count == 8)
        #expect(svg.contains("stall threshold 700 mA"))
        #expect(page.contains("class=\"chart battery-load\""))
        #expect(page.contains("class=\"chart fault-timeline\""))
        #expect(page.contains("Check the strike plate → and the door&#39;s alignment."))
        // Nothing to fetch.
        for fetch in ["src=", "href=", "url(", "@import", "http://", "https://"] {
            #expect(!page.contains(fetch), "the page has \(fetch)")
        }
        // A page whose embedded report was edited no longer verifies.
        let edited = page.replacingOccurrences(of: "\"peak_current_ma\":1480", with: "\"peak_current_ma\":1080")
        #expect(edited != page)
        #expect(!ReportVerifier.verify(fileBytes: Array(edited.utf8)).valid)
    }
}
