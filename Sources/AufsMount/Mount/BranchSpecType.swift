// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// A union's branch as aufs names it: a path and its permission (`/srv/rw=rw`). What persist
/// writes and reads back; parsed once where the text comes from (the kernel's listing, the user).
public struct BranchSpec: Sendable, Equatable, Codable, CustomStringConvertible {
    public var path: String
    public var permission: BranchPermission

    public init(path: String, permission: BranchPermission) {
        self.path = path
        self.permission = permission
    }

    public init(_ branch: Branch) { self.init(path: branch.path, permission: branch.permission) }

    /// `path=perm`, as br= takes it.
    public var description: String { "\(path)=\(permission)" }

    /// Reads `path=perm` as the kernel lists a branch (/sys/fs/aufs/si_*/brN, mountinfo's br:);
    /// nil when the permission is not one aufs has.
    public static func parse(listed text: String) -> BranchSpec? {
        guard let eq = text.lastIndex(of: "="),
            case .success(let p) = BranchPermission.parse(String(text[text.index(after: eq)...]))
        else { return nil }
        return BranchSpec(path: String(text[..<eq]), permission: p)
    }
}
