// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// apt-get waits this long for another package manager's lock (`-o DPkg::Lock::Timeout`) instead
/// of failing at once ("Could not get lock /var/lib/dpkg/lock-frontend"): at boot
/// unattended-upgrades often holds it.
public enum AptLock {
    public static let timeout = 600.0
    /// The options every apt-get aufsctl runs gets.
    public static var options: [String] { ["-o", "DPkg::Lock::Timeout=\(Int(timeout))"] }
}
