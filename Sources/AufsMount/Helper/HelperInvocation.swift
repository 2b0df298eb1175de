// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Exit codes of mount(8) helpers, as mount(8) documents them (never 126).
public enum HelperExit: Int32, Sendable, Equatable {
    case ok = 0
    /// Bad invocation (unknown flag, missing DIR) or permissions.
    case usage = 1
    /// A system error (cannot read mountinfo, cannot enter the namespace).
    case system = 2
    case internalBug = 4
    case interrupted = 8
    /// /etc/mtab could not be written.
    case mtab = 16
    /// The mount (or unmount) failed or was refused (bad option, bad branch, the kernel said no).
    case mountFailure = 32
    case someSucceeded = 64
}

/// A helper error: the one-line reason and the exit code mount(8) expects.
public struct HelperError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var exit: HelperExit
    public init(_ message: String, exit: HelperExit) {
        self.message = message
        self.exit = exit
    }
    public var description: String { message }
}

/// `mount.aufs SPEC DIR [-s] [-f] [-n] [-v] [-o OPTS] [-t TYPE.SUBTYPE] [-N NS]`, the argv
/// util-linux's mount(8) hands a helper: positionals first, then the flags.
public struct MountHelperArguments: Sendable, Equatable {
    public var spec: String
    public var dir: String
    public var sloppy = false
    public var fake = false
    public var noMtab = false
    public var verbose = false
    public var options = ""
    public var type: String?
    public var namespace: String?

    /// Parses by hand: the argv is fixed by util-linux. `-oOPTS`, `-o OPTS`, repeated `-o` (joined
    /// with commas) and clusters such as `-fv` are accepted.
    public static func parse(_ args: [String]) throws -> MountHelperArguments {
        var positionals: [String] = []
        var out = MountHelperArguments(spec: "", dir: "")
        var opts: [String] = []
        var i = 0
        func value(_ flag: Character, rest: Substring) throws -> String {
            if !rest.isEmpty { return String(rest) }
            i += 1
            guard i < args.count else {
                throw HelperError("mount.aufs: -\(flag) needs a value; usage: \(usage)", exit: .usage)
            }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            if a == "--" {
                positionals += args[(i + 1)...]
                break
            }
            if a.hasPrefix("-") && a.count > 1 {
                var rest = a.dropFirst()
                flags: while let f = rest.first {
                    rest = rest.dropFirst()
                    switch f {
                    case "s": out.sloppy = true
                    case "f": out.fake = true
                    case "n": out.noMtab = true
                    case "v": out.verbose = true
                    case "o":
                        opts.append(try value(f, rest: rest))
                        break flags
                    case "t":
                        out.type = try value(f, rest: rest)
                        break flags
                    case "N":
                        out.namespace = try value(f, rest: rest)
                        break flags
                    default:
                        throw HelperError("mount.aufs: unknown flag -\(f) in \"\(a)\"; usage: \(usage)", exit: .usage)
                    }
                }
            } else {
                positionals.append(a)
            }
            i += 1
        }
        guard positionals.count == 2 else {
            let what =
                positionals.count < 2
                ? (positionals.isEmpty ? "SPEC and DIR are missing" : "DIR is missing")
                : "too many operands (\(positionals.joined(separator: " ")))"
            throw HelperError("mount.aufs: \(what); usage: \(usage)", exit: .usage)
        }
        out.spec = positionals[0]
        out.dir = positionals[1]
        if out.dir.isEmpty { throw HelperError("mount.aufs: DIR is empty; usage: \(usage)", exit: .usage) }
        out.options = opts.filter { !$0.isEmpty }.joined(separator: ",")
        if let t = out.type, t != "aufs", !t.hasPrefix("aufs.") {
            throw HelperError("mount.aufs: -t \(t): this helper mounts aufs only", exit: .usage)
        }
        return out
    }

    public static let usage = "mount.aufs SPEC DIR [-s] [-f] [-n] [-v] [-o OPTIONS] [-t aufs] [-N NAMESPACE]"
}

/// `umount.aufs DIR [-n] [-l] [-f] [-v] [-r] [-t TYPE] [-N NS]`.
public struct UmountHelperArguments: Sendable, Equatable {
    public var dir: String
    public var noMtab = false
    public var lazy = false
    public var force = false
    public var verbose = false
    public var readOnlyOnBusy = false
    public var type: String?
    public var namespace: String?
    /// Not part of util-linux's contract: aufsctl's own way to skip the pseudo-link flush.
    public var noPlinkFlush = false

    public static func parse(_ args: [String]) throws -> UmountHelperArguments {
        var positionals: [String] = []
        var out = UmountHelperArguments(dir: "")
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--no-plink-flush" {
                out.noPlinkFlush = true
                i += 1
                continue
            }
            if a == "--" {
                positionals += args[(i + 1)...]
                break
            }
            if a.hasPrefix("-") && a.count > 1 {
                var rest = a.dropFirst()
                flags: while let f = rest.first {
                    rest = rest.dropFirst()
                    switch f {
                    case "n": out.noMtab = true
                    case "l": out.lazy = true
                    case "f": out.force = true
                    case "v": out.verbose = true
                    case "r": out.readOnlyOnBusy = true
                    case "t", "N":
                        var v = String(rest)
                        if v.isEmpty {
                            i += 1
                            guard i < args.count else {
                                throw HelperError("umount.aufs: -\(f) needs a value; usage: \(usage)", exit: .usage)
                            }
                            v = args[i]
                        }
                        if f == "t" { out.type = v } else { out.namespace = v }
                        break flags
                    default:
                        throw HelperError("umount.aufs: unknown flag -\(f) in \"\(a)\"; usage: \(usage)", exit: .usage)
                    }
                }
            } else {
                positionals.append(a)
            }
            i += 1
        }
        guard positionals.count == 1, !positionals[0].isEmpty else {
            let what =
                positionals.isEmpty ? "DIR is missing" : "one DIR expected, got \(positionals.joined(separator: " "))"
            throw HelperError("umount.aufs: \(what); usage: \(usage)", exit: .usage)
        }
        out.dir = positionals[0]
        if let t = out.type, t != "aufs", !t.hasPrefix("aufs.") {
            throw HelperError("umount.aufs: -t \(t): this helper unmounts aufs only", exit: .usage)
        }
        return out
    }

    public static let usage = "umount.aufs DIR [-n] [-l] [-f] [-v] [-r] [-t aufs] [-N NAMESPACE]"
}
