// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CMount
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// MountTable parses mountinfo itself (loading libmount cost every mount, umount and status ~0.3
/// ms); util-linux's libmount is the reference it must agree with, field by field.
@Suite struct MountTableTests {
    /// What libmount reads from `path`, in MountEntry's shape.
    static func libmount(_ path: String) -> [MountEntry]? {
        guard let tb = mnt_new_table_from_file(path) else { return nil }
        defer { mnt_unref_table(tb) }
        guard let itr = mnt_new_iter(Int32(MNT_ITER_FORWARD)) else { return nil }
        defer { mnt_free_iter(itr) }
        var out: [MountEntry] = []
        var fs: OpaquePointer? = nil
        func s(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
        while mnt_table_next_fs(tb, itr, &fs) == 0, let f = fs {
            out.append(
                MountEntry(
                    id: Int(mnt_fs_get_id(f)), parentID: Int(mnt_fs_get_parent_id(f)),
                    source: s(mnt_fs_get_source(f)), target: s(mnt_fs_get_target(f)),
                    fstype: s(mnt_fs_get_fstype(f)), vfsOptions: s(mnt_fs_get_vfs_options(f)),
                    fsOptions: s(mnt_fs_get_fs_options(f))))
        }
        return out
    }

    static func agree(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let ours = MountTable.read(path)?.entries
        let theirs = libmount(path)
        #expect(ours != nil && ours?.isEmpty == false, "read nothing from \(path)", sourceLocation: sourceLocation)
        #expect(ours?.count == theirs?.count, sourceLocation: sourceLocation)
        for (a, b) in zip(ours ?? [], theirs ?? []) where a != b {
            Issue.record("\(path): ours \(a)\nlibmount \(b)", sourceLocation: sourceLocation)
        }
    }

    /// On a copy taken once: the other tests mount and unmount in parallel, so two reads of the live
    /// file (ours, then libmount's) can see two tables.
    @Test func agreesWithLibmountOnThisHost() throws {
        let t = TempDir()
        let live = try #require(FileRead.string("/proc/self/mountinfo"))
        t.write("mountinfo", live)
        Self.agree(t.path + "/mountinfo")
    }

    @Test func agreesWithLibmountOnTheFixtureRoots() {
        for os in ["debian11", "debian12", "ubuntu2004", "ubuntu2204", "centos7", "centos7-aufs"] {
            Self.agree(packageRoot() + "/Tests/Fixtures/roots/\(os)/proc/self/mountinfo")
        }
    }

    /// The kernel's escapes (space, tab, newline, backslash as \040 \011 \012 \134) in every field
    /// that can hold them, optional fields, an empty source, a backslash that is not an escape,
    /// aufs's br: and overlay's lowerdir+ options, and a long line.
    @Test func agreesWithLibmountOnEscapesAndOddLines() {
        let t = TempDir()
        let many = (0..<120).map { "lowerdir+=/l/\($0)" }.joined(separator: ",")
        t.write(
            "mountinfo",
            """
            21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
            30 21 0:40 / /mnt/with\\040space rw,nosuid shared:7 master:3 - tmpfs my\\040tmp rw,size=1024k
            31 21 0:41 /sub\\011dir /mnt/tab\\011and\\012newline rw - tmpfs none rw
            32 21 0:42 / /mnt/back\\134slash rw - aufs none rw,si=1a2b,br:/b\\134r=rw:/ro\\040x=ro
            33 21 0:43 / /mnt/not\\9escape\\04 rw - overlay aufsctl rw,\(many),upperdir=/u,workdir=/w
            34 21 0:44 / /mnt/empty-source rw - tmpfs  rw
            35 21 0:45 / /mnt/unbindable rw unbindable - proc proc rw
            36 21 0:46 / /mnt/gone\\040(deleted) rw - tmpfs none rw

            """)
        Self.agree(t.path + "/mountinfo")
        let e = MountTable.read(t.path + "/mountinfo")?.entries ?? []
        #expect(e.map(\.target).contains("/mnt/tab\tand\nnewline"))
        #expect(e.map(\.target).contains("/mnt/gone (deleted)"), "the suffix stays, as in libmount >= 2.37.3")
        #expect(e.first { $0.target == "/mnt/back\\slash" }?.fsOptions == "rw,si=1a2b,br:/b\\r=rw:/ro x=ro")
    }

    /// The /proc/mounts format (a root tree without mountinfo): source, target and type as libmount
    /// reads them.
    @Test func readsTheProcMountsFormat() {
        let t = TempDir()
        t.write("mounts", "/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs /run/with\\040space tmpfs rw,nosuid 0 0\n")
        let ours = MountTable.read(t.path + "/mounts")?.entries ?? []
        let theirs = Self.libmount(t.path + "/mounts") ?? []
        #expect(ours.map(\.source) == theirs.map(\.source) && ours.map(\.target) == theirs.map(\.target))
        #expect(ours.map(\.fstype) == theirs.map(\.fstype) && ours.count == 2)
    }

    /// A real mount at a path with a space, a tab and a backslash, read back from the kernel.
    @Test(.enabled(if: isRoot, "needs root: mounts a tmpfs"))
    func agreesWithLibmountOnALiveEscapedMount() throws {
        let t = TempDir()
        let target = canonical(t.path) + "/a b\tc\\d"
        makeDir(target)
        try #require(Glibc.mount("aufsctl test", target, "tmpfs", 0, "size=64k") == 0, "mount: \(errno)")
        defer { umount2(target, Int32(MNT_DETACH)) }
        let live = try #require(FileRead.string("/proc/self/mountinfo"))
        t.write("mountinfo", live)  // one copy: the parallel tests change the live table
        Self.agree(t.path + "/mountinfo")
        #expect(MountTable.read(t.path + "/mountinfo")?.mount(at: target)?.source == "aufsctl test")
    }
}
