import Foundation
import JSONRPC
@_spi(Fuzzing) import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Logging
import Testing

/// The socket API's method list is one list: what lockdiagd's method table answers (with a history and recording
/// offered, as the daemon runs), `APIMethod.all` for clients, the access policy's roles, and the documentation
/// (a `##` section in docs/socket-api.md, and the role table in docs/security.md § Roles).
@Suite struct APIContractTests {
    static func registeredMethods() throws -> [String] {
        let rig = try HubRecordFeeder()
        let directory = try TemporaryDirectory(prefix: "contract")
        defer { directory.remove() }
        var api = APIService(hub: rig.hub, socketPath: directory.path + "/s.sock", version: "test", logger: Logger(label: "test.contract"))
        api.station = try Station.open(database: directory.path + "/h.sqlite", key: directory.path + "/station.key", version: "test",
                                       logger: Logger(label: "test.contract"))
        api.trafficTaps = TrafficTaps(version: "test", ringSlots: 4)
        return api.methodTable().methodNames
    }

    static func document(_ path: String) throws -> String {
        try String(contentsOfFile: TestSupport.repositoryRoot.path + "/" + path, encoding: .utf8)
    }

    @Test func everyMethodTheDaemonAnswersIsListedGivenARoleAndDocumented() throws {
        let registered = try Self.registeredMethods()
        #expect(Set(registered) == Set(APIMethod.all), "registered but not in APIMethod.all: \(Set(registered).subtracting(APIMethod.all)); listed but not registered: \(Set(APIMethod.all).subtracting(registered))")
        #expect(APIMethod.all.count == Set(APIMethod.all).count, "APIMethod.all lists a method twice")
        let roles = AccessPolicy.apiMethodRoles
        #expect(Set(roles.keys) == Set(registered), "a method without a role of its own (or a role for no method): \(Set(registered).symmetricDifference(roles.keys))")

        let headings = try Self.document("docs/socket-api.md").split(separator: "\n").filter { $0.hasPrefix("## ") }
            .flatMap { $0.dropFirst(3).split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) } }
        for method in registered {
            #expect(headings.contains(method), "docs/socket-api.md has no section for \(method)")
        }

        // socket-api.md's summary: readers may call every method "except …, which need a technician".
        let api = try Self.document("docs/socket-api.md")
        let summary = try #require(api.range(of: "every method here except").flatMap { start in
            api.range(of: "which need a technician", range: start.upperBound..<api.endIndex).map { String(api[start.upperBound..<$0.lowerBound]) }
        })
        for (method, role) in roles where role == .technician {
            let family = method.split(separator: ".")[0]
            #expect(summary.contains("`\(method)`") || summary.contains("`\(family).*`"), "socket-api.md's summary does not say \(method) needs a technician")
        }

        // security.md's role table: the reader row lists exactly the reader methods; the technician row names
        // every technician method.
        let security = try Self.document("docs/security.md").split(separator: "\n")
        let readerRow = try #require(security.first { $0.hasPrefix("| reader |") })
        let technicianRow = try #require(security.first { $0.hasPrefix("| technician |") })
        let quoted = { (row: Substring) in Set(row.split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }) }
        let readers = Set(roles.filter { $0.value == .reader }.keys)
        #expect(quoted(readerRow).intersection(registered) == readers, "security.md's reader row: \(quoted(readerRow).intersection(registered).symmetricDifference(readers))")
        let technicianText = String(technicianRow)
        for (method, role) in roles where role == .technician {
            let family = method.split(separator: ".")[0]
            let named = technicianText.contains("`\(method)`") || technicianText.contains("`\(family).*`")
                || technicianText.contains("/`\(method)`") || technicianText.contains("`\(method)`/")
            #expect(named, "security.md's technician row does not name \(method)")
        }
    }
}
