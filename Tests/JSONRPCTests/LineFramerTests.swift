import LockDiagTestSupport
import Testing

@testable import JSONRPC

/// The framer is fed every input whole, byte by byte, and in random splits (the swift-nio codec
/// test habit): the events must not depend on how the socket chunked the stream.
@Suite struct LineFramerTests {
    static func events(_ chunks: [[UInt8]], max: Int, finish: Bool = false) -> [LineFramer.Event] {
        var framer = LineFramer(maxLineBytes: max)
        var events: [LineFramer.Event] = []
        for chunk in chunks {
            chunk.withUnsafeBytes { framer.feed($0) { events.append($0) } }
        }
        if finish { framer.finish { events.append($0) } }
        return events
    }

    static func splits(of bytes: [UInt8], seed: UInt64) -> [[[UInt8]]] {
        var result: [[[UInt8]]] = [[bytes], bytes.map { [$0] }]
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<50 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let end = min(bytes.count, index + Int.random(in: 1...9, using: &generator))
                chunks.append(Array(bytes[index..<end]))
                index = end
            }
            result.append(chunks)
        }
        return result
    }

    static func line(_ text: String) -> LineFramer.Event { .line(Array(text.utf8)) }

    @Test func splitsLinesHoweverTheyArrive() {
        let input = Array("first\nsecond line\n\n{\"x\":1}\r\nlast\n".utf8)
        let expected = [Self.line("first"), Self.line("second line"), Self.line(""), Self.line("{\"x\":1}\r"), Self.line("last")]
        for chunks in Self.splits(of: input, seed: 1) {
            #expect(Self.events(chunks, max: 64) == expected)
        }
    }

    @Test func skipsAnOversizedLineAndKeepsGoing() {
        let input = Array("ok\n\(String(repeating: "x", count: 40))\nafter\n1234567890\n".utf8)
        let expected = [Self.line("ok"), .oversized, Self.line("after"), Self.line("1234567890")]
        for chunks in Self.splits(of: input, seed: 2) {
            #expect(Self.events(chunks, max: 10) == expected)
        }
    }

    @Test func reportsAnOversizedLineOnceWhileItStreamsIn() {
        var chunks: [[UInt8]] = [Array("start".utf8)]
        chunks += Array(repeating: Array(repeating: UInt8(ascii: "y"), count: 100), count: 50)
        chunks.append(Array("tail\nnext\n".utf8))
        #expect(Self.events(chunks, max: 64) == [.oversized, Self.line("next")])
    }

    @Test func keepsMemoryBoundedWhileDiscarding() {
        var framer = LineFramer(maxLineBytes: 16)
        let chunk = [UInt8](repeating: 0x41, count: 4096)
        var oversized = 0
        for _ in 0..<100 {
            chunk.withUnsafeBytes { framer.feed($0) { if $0 == .oversized { oversized += 1 } } }
            #expect(framer.bufferedBytes <= 16)
        }
        #expect(oversized == 1)
    }

    @Test func lineOfExactlyTheLimitIsAccepted() {
        #expect(Self.events([Array("1234\n12345\n".utf8)], max: 4) == [Self.line("1234"), .oversized])
    }

    @Test func finishDeliversAnUnterminatedLastLine() {
        #expect(Self.events([Array("a\nb".utf8)], max: 8, finish: true) == [Self.line("a"), Self.line("b")])
        #expect(Self.events([Array("a\n".utf8)], max: 8, finish: true) == [Self.line("a")])
        // An oversized tail stays discarded.
        #expect(Self.events([Array("a\n123456789".utf8)], max: 8, finish: true) == [Self.line("a"), .oversized])
    }
}
