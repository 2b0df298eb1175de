import Glibc

/// The directory under which every host file is read or written (`--root`, default `/`),
/// so a fixture tree drives the real parsing code in tests.
public struct HostRoot: Sendable, Equatable {
    public let path: String

    public init(_ path: String = "/") {
        var p = path.isEmpty ? "/" : path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    public var isHost: Bool { path == "/" }

    /// Checks that the root exists and is a directory.
    public static func validated(_ path: String) throws -> HostRoot {
        var st = stat()
        if stat(path, &st) != 0 {
            throw AufsError.usage("--root \(path): \(Errno.describe(errno)); expected an existing directory holding a host tree (/etc, /proc, /lib/modules)")
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            throw AufsError.usage("--root \(path): not a directory; expected a directory holding a host tree")
        }
        return HostRoot(FilePath.absolute(path))
    }

    /// `abs` (an absolute host path such as `/etc/os-release`) resolved under the root.
    public func resolve(_ abs: String) -> String {
        if isHost { return abs }
        return abs.hasPrefix("/") ? path + abs : path + "/" + abs
    }
}
