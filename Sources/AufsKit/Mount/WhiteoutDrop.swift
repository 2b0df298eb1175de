// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsJournal
import AufsMount
import Glibc

/// `branch add --drop-whiteouts`: the whiteouts that would hide a new layer are copied into
/// /var/lib/aufsctl/backups, recorded in the state file (a `whiteouts` union record whose undo
/// puts each back), then removed from their branches. The record is written before anything is
/// removed, so a crash loses no undo.
public struct WhiteoutDrop {
    public var records: UnionRecords
    public init(records: UnionRecords = UnionRecords()) { self.records = records }

    public func drop(_ found: [WhiteoutAudit.Finding], union: String) throws -> String {
        var undo: [UndoAction] = []
        for f in found {
            let backup = try records.backup(f.path)
            undo.append(.restoreFile(path: f.path, backup: backup))
        }
        _ = try records.record(UnionRecord(kind: .whiteouts, target: union, undo: undo))
        var removed = 0
        for f in found where unlink(f.path) == 0 || errno == ENOENT { removed += 1 }
        if removed < found.count {
            throw AufsError(
                "could remove only \(removed) of \(found.count) whiteouts (\(SysErrno(errno))); the backups and the "
                    + "state record stay: `aufsctl uninstall` puts them back")
        }
        return "dropped \(found.count) whiteout\(found.count == 1 ? "" : "s") hiding the new layer (first: "
            + "\(found[0].path)); backed up in /var/lib/aufsctl/backups and recorded in the state file"
    }
}
