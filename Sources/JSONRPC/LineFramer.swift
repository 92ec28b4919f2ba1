/// Splits a byte stream into newline-terminated lines, with a bound on line length.
///
/// A line longer than `maxLineBytes` (not counting its newline) is reported once as
/// `.oversized` and then skipped up to and including its newline, so one bad request cannot
/// make the peer's following requests unreadable, and memory stays bounded by the limit.
/// Pure value type: the server feeds it whatever chunks the socket delivers.
struct LineFramer {
    enum Event: Equatable {
        case line([UInt8])
        case oversized
    }

    let maxLineBytes: Int
    private var pending: [UInt8] = []
    /// Inside an oversized line: drop bytes until the next newline.
    private var discarding = false

    init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0, "maxLineBytes must be positive")
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes held for an incomplete line.
    var bufferedBytes: Int { pending.count }

    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ emit: (Event) -> Void) {
        var start = 0
        while start < chunk.count {
            let rest = UnsafeRawBufferPointer(rebasing: chunk[start...])
            let newline = rest.firstIndex(of: 0x0A).map { start + $0 }
            let end = newline ?? chunk.count
            let segment = UnsafeRawBufferPointer(rebasing: chunk[start..<end])

            if discarding {
                if newline != nil { discarding = false }
            } else if pending.count + segment.count > maxLineBytes {
                pending.removeAll(keepingCapacity: false)
                emit(.oversized)
                // Without its newline yet, skip the rest of the line as it arrives.
                discarding = newline == nil
            } else {
                pending.append(contentsOf: segment)
                if newline != nil {
                    emit(.line(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            start = end + (newline == nil ? 0 : 1)
        }
    }

    /// At end of input: an unterminated last line still counts (a script that wrote its
    /// request without the final newline and shut down its side).
    mutating func finish(_ emit: (Event) -> Void) {
        if !discarding && !pending.isEmpty { emit(.line(pending)) }
        pending = []
        discarding = false
    }
}
