// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount

extension HostRoot {
    /// The path of `abs` under the root without following its last component: a link to remove
    /// or replace is the link itself, never what it points to.
    public func entry(_ abs: String) -> String {
        isHost ? abs : resolve(Paths.dirname(abs)) + "/" + (abs.split(separator: "/").last.map(String.init) ?? "")
    }
}
