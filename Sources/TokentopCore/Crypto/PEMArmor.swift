/// The PEM armour of a text (RFC 7468, with RFC 1421 encapsulated headers), read before OpenSSL sees the key.
///
/// Looking at the labels first lets each kind of wrong file get its own message: no armour at all, an encrypted
/// key, a public key or certificate where a private key belongs, a block that was cut short.
struct PEMArmor {
    /// One `-----BEGIN label-----` … `-----END label-----` block.
    struct Block: Equatable {
        var label: String
        /// RFC 1421 header lines such as `Proc-Type: 4,ENCRYPTED`, before the base64 body.
        var headers: [String]
        /// The whole block, armour lines included, as OpenSSL expects it.
        var text: String
        /// Whether the block has its END line.
        var complete: Bool

        /// PKCS#8 `ENCRYPTED PRIVATE KEY`, or a traditional key with `Proc-Type: 4,ENCRYPTED`.
        var isEncrypted: Bool {
            if label == "ENCRYPTED PRIVATE KEY" { return true }
            return headers.contains { line in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingSpaces.lowercased() == "proc-type" else { return false }
                return parts[1].trimmingSpaces.uppercased().hasSuffix("ENCRYPTED")
            }
        }

        /// PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.
        var isPrivateKey: Bool { PEMArmor.privateKeyLabels.contains(label) }
    }

    static let privateKeyLabels: Set<String> = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]

    /// Every block, in order; a block without its END line is kept with `complete == false`.
    let blocks: [Block]

    init(_ text: String) {
        var blocks: [Block] = []
        var current: Block?
        var inBody = false
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = String(rawLine.trimmingSpaces)
            if var block = current {
                block.text += line + "\n"
                if line == "-----END \(block.label)-----" {
                    block.complete = true
                    blocks.append(block)
                    current = nil
                    continue
                }
                if !inBody, line.contains(":") {
                    block.headers.append(line)
                } else if !line.isEmpty {
                    inBody = true
                }
                current = block
            } else if let label = Self.beginLabel(line) {
                current = Block(label: label, headers: [], text: line + "\n", complete: false)
                inBody = false
            }
        }
        if let current { blocks.append(current) }
        self.blocks = blocks
    }

    private static func beginLabel(_ line: String) -> String? {
        let prefix = "-----BEGIN "
        let suffix = "-----"
        guard line.hasPrefix(prefix), line.hasSuffix(suffix), line.count > prefix.count + suffix.count else {
            return nil
        }
        return String(line.dropFirst(prefix.count).dropLast(suffix.count))
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return text
    }
}
