// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors

/// A value JSON holds as its one-line text (`description`), read back through `init?(_:)`: the
/// state file and the reports keep a kernel release, a distro family or an undo resource as one
/// string a person can read and a tool can compare.
public protocol TextCodable: Codable, CustomStringConvertible {
    init?(_ text: String)
    /// What the text names, for the error when it does not parse ("not a kernel release: x").
    static var textKind: String { get }
}

extension TextCodable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not \(Self.textKind): \(text)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
