// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// A kernel release string (`uname -r`): a leading `major.minor[.patch]`, the rest kept opaque,
/// with the flavour recognised where aufsctl plans differently.
public struct KernelRelease: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Flavor: String, Sendable, Codable {
        case el7  // 3.10.0-1160.el7.x86_64
        case elRepo  // 5.13.1-1.el7.x86_64 (kernel-ml / kernel-ml-aufs)
        case debian  // 6.1.0-18-amd64, 6.1.0-18-cloud-amd64
        case ubuntu  // 5.4.0-42-generic
        case rc  // 6.8.0-rc3
        case other
    }

    public let string: String
    public let major: Int
    public let minor: Int
    public let patch: Int?
    /// Everything after `major.minor[.patch]` (e.g. `-18-amd64`).
    public let suffix: String
    public let flavor: Flavor
    /// `-rcN` as N, when present.
    public let rc: Int?

    public var description: String { string }
    public var series: String { "\(major).\(minor)" }

    /// Parses a release; nil for anything that does not start with `N.N`.
    public init?(_ s: String) {
        let trimmed = s.trimmingBlanks
        guard !trimmed.isEmpty, trimmed.count <= 64,
            // The characters kernel releases use (uname -r, package names): letters, digits and
            // `._+~-`. Nothing a shell or a path would read (the release reaches --emit-sh scripts).
            trimmed.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._+~-".unicodeScalars.contains($0))
            })
        else { return nil }
        var nums: [Int] = []
        var idx = trimmed.startIndex
        var digits = ""
        while idx < trimmed.endIndex {
            let c = trimmed[idx]
            if c.isASCII, c.isNumber {
                digits.append(c)
            } else if c == ".", !digits.isEmpty, nums.count < 2 {
                nums.append(Int(digits) ?? -1)
                digits = ""
            } else {
                break
            }
            idx = trimmed.index(after: idx)
        }
        if !digits.isEmpty { nums.append(Int(digits) ?? -1) }
        guard nums.count >= 2, nums.allSatisfy({ $0 >= 0 && $0 < 100_000 }) else { return nil }
        string = trimmed
        major = nums[0]
        minor = nums[1]
        patch = nums.count > 2 ? nums[2] : nil
        suffix = String(trimmed[idx...])
        rc = KernelRelease.rcNumber(suffix)
        flavor = KernelRelease.classify(suffix: suffix, major: major, minor: minor, rc: rc)
    }

    static func rcNumber(_ suffix: String) -> Int? {
        guard let r = suffix.firstRange(of: "-rc") else { return nil }
        let digits = suffix[r.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return Int(digits)
    }

    static func classify(suffix: String, major: Int, minor: Int, rc: Int?) -> Flavor {
        if rc != nil { return .rc }
        if suffix.contains(".el7") || suffix.contains(".el8") || suffix.contains(".el9") {
            return (major == 3 && minor == 10) ? .el7 : .elRepo
        }
        let parts = suffix.split(separator: "-")
        // Debian ABI names: -N-amd64, -N-cloud-amd64, -N-rt-amd64, -N-arm64 ...
        if parts.count >= 2, Int(parts[0]) != nil {
            let last = parts.last!
            let debianArch = [
                "amd64", "arm64", "686", "686-pae", "armmp", "ppc64el", "s390x", "i386", "powerpc64le", "mips64r2el",
                "riscv64",
            ]
            let ubuntuFlavors = [
                "generic", "lowlatency", "aws", "azure", "gcp", "kvm", "oracle", "raspi", "virtual", "oem", "ibm",
                "hwe", "generic-64k",
            ]
            if ubuntuFlavors.contains(String(last)) || parts.contains(where: { $0 == "generic" }) { return .ubuntu }
            if debianArch.contains(String(last)) || parts.contains("cloud") { return .debian }
        }
        return .other
    }

    /// Encoded as the release string (`aufsctl check --json`'s `facts.kernel.release`).
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let k = KernelRelease(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a kernel release: \(text)"))
        }
        self = k
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(string)
    }

    /// Debian's real point release from `uname -v` (`#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)`).
    public static func debianPointRelease(fromVersion v: String) -> String? {
        guard let r = v.firstRange(of: "Debian ") else { return nil }
        let word = v[r.upperBound...].prefix { !$0.isWhitespace }
        guard let first = word.first, first.isNumber else { return nil }
        return String(word)
    }
}

extension StringProtocol {
    package var trimmingBlanks: String {
        // ASCII (nearly always): bytes, the same result without the generic scalar views (issue 14).
        let whole = String(self), u = whole.utf8
        if u.allSatisfy({ $0 < 0x80 }) {
            func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }
            var start = u.startIndex, end = u.endIndex
            while start < end, blank(u[start]) { start = u.index(after: start) }
            while start < end {
                let last = u.index(before: end)
                // "\r\n" is one Character, not a blank one: the Character-wise loop below keeps it.
                guard blank(u[last]), !(u[last] == 0x0a && last > start && u[u.index(before: last)] == 0x0d) else {
                    break
                }
                end = last
            }
            return String(decoding: u[start..<end], as: UTF8.self)
        }
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        var s = String(String.UnicodeScalarView(scalars))
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return s
    }
}
