// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem

extension Uninstaller {
    /// Takes back a `mokutil --import` while MokManager has not confirmed it: `--revoke-import`
    /// deletes the whole request (every pending key), so only when ours is the only one pending.
    /// A key already enrolled cannot be taken back here: say so, and how (`mokutil --delete`).
    func revokeImport(
        _ cert: String, keyID: String?, serial: String?, root: HostRoot, runner: any CommandRunner
    ) async throws {
        let list = try await runner.run(root.command(["mokutil", "--list-new"]))
        let pending = Mokutil.parseList(list.stdout)
        let ours = pending.filter { $0.names(keyID: keyID, serial: serial) }
        guard !ours.isEmpty else {
            let test = try? await runner.run(root.command(["mokutil", "--test-key", cert]))
            switch test.map({ Mokutil.parseTestKey($0.stdout + $0.stderr) }) {
            case .enrolled?:
                printer(
                    "      cannot undo: \(cert) is enrolled in MokList (confirmed in MokManager) and stays trusted; "
                        + "to remove it: `mokutil --delete \(cert)`, reboot and confirm the deletion in MokManager")
            case .inDB?, .builtin?:
                printer("      nothing to revoke: \(cert) is trusted by the firmware's db or the kernel itself")
            default:
                printer("      nothing to revoke: no import of \(cert) is pending (mokutil --list-new)")
            }
            return
        }
        let others = pending.count - ours.count
        guard others == 0 else {
            let names = pending.filter { !$0.names(keyID: keyID, serial: serial) }.map { $0.subject ?? "?" }
            printer(
                "      not revoked: `mokutil --revoke-import` drops every pending import, and \(others) other "
                    + "key\(others == 1 ? "" : "s") wait\(others == 1 ? "s" : "") for MokManager too "
                    + "(\(names.joined(separator: "; "))); at the next boot MokManager asks for each: skip \(cert) "
                    + "there, or revoke them all by hand with `mokutil --revoke-import`")
            return
        }
        try await run(["mokutil", "--revoke-import"], root: root, runner: runner)
        let after = try await runner.run(root.command(["mokutil", "--list-new"]))
        if Mokutil.parseList(after.stdout).contains(where: { $0.names(keyID: keyID, serial: serial) }) {
            throw AufsError("mokutil --revoke-import ran, but mokutil --list-new still shows \(cert)")
        }
    }
}
