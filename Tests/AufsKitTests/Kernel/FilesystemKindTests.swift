// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CLinuxShims
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct FilesystemKindTests {
    /// One list decides both ways of asking (statfs magic for mount, mountinfo type for check).
    @Test func xinoRefusalsByMagicAndByTypeNameAgree() {
        for entry in FilesystemKind.xinoRefused {
            #expect(FilesystemKind(magic: entry.magic).refusedForXino != nil, "\(entry.types)")
            for t in entry.types { #expect(FilesystemKind.xinoRefusal(typeName: t) != nil, "\(t)") }
        }
        #expect(FilesystemKind.xinoRefusal(typeName: "fuse.sshfs") != nil)
        for t in ["tmpfs", "ext4", "ext3", "squashfs"] {
            #expect(FilesystemKind.xinoRefusal(typeName: t) == nil, "\(t)")
        }
        for m in [AUFSCTL_MAGIC_TMPFS, AUFSCTL_MAGIC_EXT4] { #expect(FilesystemKind(magic: m).refusedForXino == nil) }
    }
}
