/// A motor-current trace as a row of Unicode block characters.
public enum Sparkline {
    /// Eight heights, lowest first (U+2581 … U+2588).
    public static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// `samples` reduced to at most `width` values, each the largest of its run, so a short
    /// stall or end-stop spike survives the reduction instead of being averaged away.
    public static func downsample(_ samples: [Int], to width: Int) -> [Int] {
        guard width > 0 else { return [] }
        guard samples.count > width else { return samples }
        var reduced: [Int] = []
        reduced.reserveCapacity(width)
        for column in 0..<width {
            let start = column * samples.count / width
            let end = max(start + 1, (column + 1) * samples.count / width)
            reduced.append(samples[start..<end].max()!)
        }
        return reduced
    }

    /// The sparkline of `samples`, at most `width` characters, scaled so the trace's maximum
    /// is a full block. Negative values count as zero.
    public static func render(_ samples: [Int], width: Int) -> String {
        let values = downsample(samples, to: width)
        let top = values.max() ?? 0
        guard top > 0 else { return String(repeating: blocks[0], count: values.count) }
        return String(values.map { value in
            let level = max(0, value) * blocks.count / top
            return blocks[min(blocks.count - 1, level)]
        })
    }
}
