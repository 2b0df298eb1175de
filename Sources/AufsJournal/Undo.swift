// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import AufsMount
import AufsSystem

/// What an undo takes away and what a record relies on, so that undoing one record never takes
/// what another still uses (the hand-over). Stored as the strings state files have always held:
/// `file:PATH`, `packages:apt`, `dkms:aufs/V`, `fstab:TARGET`.
public enum Resource: Sendable, Hashable, TextCodable {
    /// A file or tree aufsctl wrote or relies on.
    case file(String)
    /// Every package an apt install added: apt-get remove can take reverse dependencies with it,
    /// so they count as one shared resource.
    case aptPackages
    /// A module version in dkms (`aufs/V`), with every kernel's build.
    case dkmsModule(String)
    /// persist's /etc/fstab line for a mount point.
    case fstabEntry(String)
    /// A key staged for MokManager (`mokutil --import`), by its subject key id or serial.
    case mokKey(String)

    public var description: String {
        switch self {
        case .file(let p): return "file:" + p
        case .aptPackages: return "packages:apt"
        case .dkmsModule(let m): return "dkms:" + m
        case .fstabEntry(let t): return "fstab:" + t
        case .mokKey(let id): return "mok:" + id
        }
    }

    /// Reads the stored form; nil for one this version does not know.
    public init?(_ text: String) {
        if text == "packages:apt" {
            self = .aptPackages
        } else if text.hasPrefix("file:") {
            self = .file(String(text.dropFirst(5)))
        } else if text.hasPrefix("dkms:") {
            self = .dkmsModule(String(text.dropFirst(5)))
        } else if text.hasPrefix("fstab:") {
            self = .fstabEntry(String(text.dropFirst(6)))
        } else if text.hasPrefix("mok:") {
            self = .mokKey(String(text.dropFirst(4)))
        } else {
            return nil
        }
    }

    public static let textKind = "an undo resource"
}

/// How to put back what a step changed. Recorded in the state file so `uninstall` can run it later.
public enum UndoAction: Sendable, Codable, Equatable {
    /// Restore `path` from `backup` (a copy taken before the change).
    case restoreFile(path: String, backup: String)
    /// The step created `path`: remove it (a symlink itself, never what it points to).
    case removeFile(path: String)
    /// The step created a directory tree: remove it.
    case removeTree(path: String)
    /// The step created `/lib/modules/KVER` (headers for a kernel that is not installed): remove it
    /// unless a kernel package has since put modules there (a `kernel/` directory).
    case removeModuleTree(path: String)
    /// Run a command (argv), e.g. `yum remove -y kernel-ml-aufs`, `grubby --set-default OLD`.
    case command(argv: [String])
    /// `apt-get remove -y PACKAGES`: the packages an install step added.
    case aptRemove(packages: [String])
    /// `apt-get purge -y PACKAGES`: packages an install step added that dpkg did not know before
    /// (not even their configuration files), so the host's package list is as it was.
    case aptPurge(packages: [String])
    /// `dkms remove aufs/V -k KVER`, or with `--all` (kernel nil) every kernel's build and the module.
    case dkmsRemove(module: String, kernel: String?)
    /// A link aufsctl replaced: make `path` a symlink to `target` again.
    case relink(path: String, target: String)
    /// A file aufsctl moved aside: move `saved` back to `path`.
    case moveBack(saved: String, path: String)
    /// `persist` added its marked aufs line for this mount point to /etc/fstab: remove that line
    /// and its marker only (other lines, an administrator's and other unions', stay).
    case removeFstabLine(target: String)
    /// The same from a schema-1 record, written before lines had markers: the marked line if
    /// there is one, else the aufs line for the mount point.
    case removeFstabEntry(target: String)
    /// The step created this directory (for a file it wrote): remove it when it is empty again
    /// (something put there since keeps it).
    case removeEmptyDirectory(path: String)
    /// `mokutil --import` staged this certificate: `mokutil --revoke-import` while it is still
    /// pending and the only pending key (the command drops every pending request); once enrolled,
    /// say that it stays and how to remove it (`mokutil --delete`).
    case revokeMokImport(certificate: String, keyID: String?, serial: String?)
    /// Something the install made that uninstall leaves in place, and why (said when undoing).
    case keep(what: String, why: String)

    public var description: String {
        switch self {
        case .restoreFile(let p, let b): return "restore \(p) from \(b)"
        case .removeFile(let p): return "remove \(p)"
        case .removeTree(let p): return "remove \(p)/"
        case .removeModuleTree(let p): return "remove \(p)/ unless a kernel's modules are there"
        case .command(let argv): return words(argv)
        case .aptRemove(let packages): return words(["apt-get", "remove", "-y"] + packages)
        case .aptPurge(let packages): return words(["apt-get", "purge", "-y"] + packages)
        case .dkmsRemove(let module, let kernel):
            return words(["dkms", "remove", module] + (kernel.map { ["-k", $0] } ?? ["--all"]))
        case .relink(let p, let t): return words(["ln", "-sfn", t, p])
        case .moveBack(let saved, let p): return words(["mv", "-f", saved, p])
        case .removeFstabLine(let t), .removeFstabEntry(let t): return "remove the aufs line for \(t) from /etc/fstab"
        case .removeEmptyDirectory(let p): return "remove \(p)/ if it is empty"
        case .revokeMokImport(let cert, _, _):
            return "revoke the pending MOK import of \(cert) (mokutil --revoke-import, when it is the only one pending)"
        case .keep(let what, _): return "keep \(what)"
        }
    }

    /// What the action takes away, as records name what they use.
    public var resources: [Resource] {
        switch self {
        case .restoreFile(let p, _), .removeFile(let p), .removeTree(let p), .removeModuleTree(let p):
            return [.file(p)]
        case .aptRemove, .aptPurge: return [.aptPackages]
        case .dkmsRemove(let module, nil): return [.dkmsModule(module)]
        case .removeFstabLine(let t), .removeFstabEntry(let t): return [.fstabEntry(t)]
        case .relink(let p, _), .moveBack(_, let p): return [.file(p)]
        case .command, .dkmsRemove: return []
        // Taken away only when empty: nothing another record uses can go with it.
        case .removeEmptyDirectory: return []
        case .revokeMokImport(let cert, let keyID, let serial): return [.mokKey(keyID ?? serial ?? cert)]
        case .keep: return []
        }
    }

    /// The typed form of an argv older state files recorded as a plain command.
    public var typed: UndoAction {
        guard case .command(let argv) = self else { return self }
        if argv.count > 3, argv.starts(with: ["apt-get", "remove", "-y"]) {
            return .aptRemove(packages: Array(argv.dropFirst(3)))
        }
        if argv.count == 4, argv[0] == "dkms", argv[1] == "remove", argv[3] == "--all" {
            return .dkmsRemove(module: argv[2], kernel: nil)
        }
        if argv.count == 5, argv[0] == "dkms", argv[1] == "remove", argv[3] == "-k" {
            return .dkmsRemove(module: argv[2], kernel: argv[4])
        }
        if argv.count == 4, argv[0] == "ln", argv[1] == "-sfn" { return .relink(path: argv[3], target: argv[2]) }
        if argv.count == 4, argv[0] == "mv", argv[1] == "-f" { return .moveBack(saved: argv[2], path: argv[3]) }
        return self
    }
}

/// An argv as one sh line (each word quoted where it needs it).
func words(_ argv: [String]) -> String { argv.map(ShellQuote.quote).joined(separator: " ") }
