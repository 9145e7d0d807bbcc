import Foundation

/// Reads the fields of one JSON object of the import file, turning each mismatch into an ``ImportError`` that
/// names the file, the entry and the field.
struct ImportFieldReader {
    let object: JSONObject
    let file: String
    /// The entry's label, such as `integrations[0] (id "acme")`; nil for the top-level object.
    let entry: String?

    func fail(_ field: String?, _ problem: String) -> ImportError {
        ImportError(file: file, entry: entry, field: field, problem: problem)
    }

    /// Rejects every key not in `allowed`, suggesting the closest valid key for a likely typo.
    func rejectUnknownKeys(_ allowed: [String]) throws {
        let unknown = object.keys.filter { !allowed.contains($0) }
        guard let first = unknown.first else { return }
        let valid = "valid keys are " + allowed.joined(separator: ", ")
        if unknown.count == 1 {
            let hint = Self.closest(to: first, in: allowed).map { "did you mean \"\($0)\"? " } ?? ""
            let shown = ImportError.echoed(first)
            guard shown.hasPrefix("\"") else { throw fail(nil, "an unknown key \(shown); \(hint)\(valid)") }
            throw fail(ImportError.clipped(first), "unknown key; \(hint)\(valid)")
        }
        let names = unknown.map(ImportError.echoed).joined(separator: ", ")
        throw fail(nil, "unknown keys \(names); \(valid)")
    }

    /// The value of `key`, with JSON null treated as absent.
    func value(_ key: String) -> JSONValue? {
        if case .null = object[key] { return nil }
        return object[key]
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw fail(key, "expected a string, found \(value.kindName)") }
        // Control characters would cut names short in C APIs and drive terminals; the text is not quoted back, since
        // it may be a secret.
        if let control = text.unicodeScalars.first(where: SafeText.isUnsafe) {
            throw fail(
                key, "contains the control or invisible character U+\(String(format: "%04X", control.value)); remove it"
            )
        }
        guard text.utf8.count <= Self.maximumStringBytes else {
            throw fail(key, "is \(text.utf8.count) bytes long, more than the 64 KiB any field may be")
        }
        return text
    }

    /// The longest string any field may hold; no token, key or name is longer.
    static let maximumStringBytes = 64 * 1024
    /// The most entries a list of strings (granted scopes) may have.
    static let maximumListCount = 10_000

    /// A string that must be present and not blank.
    func requiredString(_ key: String, _ purpose: String) throws -> String {
        guard let text = try string(key) else { throw fail(key, "missing; give \(purpose)") }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw fail(key, "must not be empty; give \(purpose)")
        }
        return text
    }

    /// A connection's subject: present, not blank, at most ``ImportFile/maximumSubjectLength`` characters, with at
    /// least one visible character. An import file's `subject` and a restored row's are held to this.
    func subject(_ key: String) throws -> String {
        let subject = try requiredString(key, "who the credential stands for, such as an e-mail address")
        if let problem = Self.lengthProblem(subject, maximumLength: ImportFile.maximumSubjectLength) {
            throw fail(key, problem)
        }
        guard !SafeText.isInvisible(subject) else {
            throw fail(key, "has no visible character, only spaces or invisible format characters")
        }
        return subject
    }

    /// A connection's workspace, when given: a name of at most ``ImportFile/maximumWorkspaceLength`` characters
    /// with a visible one. An import file's `workspace` and a restored row's are held to this.
    func workspace(_ key: String) throws -> String? {
        guard let workspace = try string(key) else { return nil }
        guard !workspace.isEmpty else { throw fail(key, "must not be empty; leave it out instead") }
        if let problem = Self.nameProblem(workspace, maximumLength: ImportFile.maximumWorkspaceLength) {
            throw fail(key, problem)
        }
        return workspace
    }

    /// What is wrong with a name shown on the dashboard, or nil: more than `maximumLength` characters, or no
    /// visible character.
    static func nameProblem(_ text: String, maximumLength: Int) -> String? {
        if let problem = lengthProblem(text, maximumLength: maximumLength) { return problem }
        guard !SafeText.isInvisible(text) else {
            return "has no visible character, only spaces or invisible format characters; give a name"
        }
        return nil
    }

    /// Why `text` is longer than `maximumLength` characters, or nil.
    static func lengthProblem(_ text: String, maximumLength: Int) -> String? {
        // The byte count bounds the cost of counting characters; a flag or a joined emoji takes 8 to 30 bytes.
        let maximumBytes = 32 * maximumLength
        guard text.utf8.count <= maximumBytes else {
            return "is \(text.utf8.count) bytes long, more than the \(maximumBytes) bytes of \(maximumLength) "
                + "characters allowed"
        }
        guard text.count <= maximumLength else { return "is longer than \(maximumLength) characters" }
        return nil
    }

    /// The longest identifier (a connection's or an integration's id).
    static let maximumIdentifierLength = 200

    /// An identifier: letters, digits and `. _ - @ : +`, so that it is easy to type in a shell.
    func identifier(_ key: String, _ purpose: String) throws -> String? {
        guard let text = try string(key) else { return nil }
        try checkIdentifier(text, field: key, purpose: purpose)
        return text
    }

    func checkIdentifier(_ text: String, field: String, purpose: String) throws {
        guard !text.isEmpty else { throw fail(field, "must not be empty; give \(purpose)") }
        guard text.count <= Self.maximumIdentifierLength else {
            throw fail(field, "is longer than \(Self.maximumIdentifierLength) characters")
        }
        guard text.allSatisfy(Self.isIdentifierCharacter) else {
            throw fail(field, "\(ImportError.quoted(text)) may contain only letters, digits and . _ - @ : +")
        }
        if let problem = Self.compositionProblem(text) { throw fail(field, problem) }
        // `tokentop show --help` prints the help: an id the command line takes for an option cannot be named there.
        guard !text.hasPrefix("-") else {
            throw fail(
                field,
                "\(ImportError.quoted(text)) starts with \"-\", so tokentop's command line would take it for an "
                    + "option; start it with a letter or digit")
        }
    }

    /// Refuses the id at `key`, when present, unless it is in Unicode NFC; see ``compositionProblem(_:)``. For a
    /// restored row, whose ids are held to the rule of an import file's.
    func requireComposed(_ key: String) throws {
        guard let text = try string(key), let problem = Self.compositionProblem(text) else { return }
        throw fail(key, problem)
    }

    /// Why the id `text` is not in Unicode NFC (composed form), or nil. The store compares ids byte for byte but
    /// Swift's strings compare canonically equivalent spellings as equal (`é` and `e` with a combining accent), so
    /// a second spelling of one id would be a second row that every lookup takes for the first.
    static func compositionProblem(_ text: String) -> String? {
        guard !text.precomposedStringWithCanonicalMapping.utf8.elementsEqual(text.utf8) else { return nil }
        return "\(ImportError.quoted(text)) is not in Unicode's composed form (NFC): it spells a character as a base "
            + "and a combining mark, which looks the same as the composed character but is another id; write it "
            + "composed (NFC), as keyboards type it"
    }

    static func isIdentifierCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || "._-@:+".contains(character)
    }

    /// An array of non-empty strings of at most `maximumCount` elements, each held to the rules of ``string(_:)``
    /// and to what `entries` are.
    func strings(_ key: String, maximumCount: Int = maximumListCount, entries: ListEntry = .text) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let elements) = value else {
            throw fail(key, "expected an array of strings, found \(value.kindName)")
        }
        guard elements.count <= maximumCount else {
            throw fail(key, "has \(elements.count) entries, more than the \(maximumCount) allowed")
        }
        return try elements.enumerated().map { index, element in
            let field = "\(key)[\(index)]"
            guard case .string(let text) = element else {
                throw fail(field, "expected a non-empty string, found \(element.kindName)")
            }
            guard !text.isEmpty else { throw fail(field, "expected a non-empty string, found an empty string") }
            if let problem = Self.entryProblem(text, as: entries) { throw fail(field, problem) }
            return text
        }
    }

    /// What the entries of a list are: each rule holds an import file's list and a restored store's list column
    /// alike.
    enum ListEntry {
        /// Any text.
        case text
        /// An OAuth scope token (RFC 6749 §3.3): `scopes`, `granted_scopes`.
        case scopeToken
        /// A name shown on the dashboard, such as a member: at most `maximumLength` characters.
        case name(maximumLength: Int)
        /// An RFC 8693 `audience`: a logical name, without spaces.
        case audience
        /// An RFC 8693 `resource` (RFC 8707): an absolute URI without a fragment or credentials.
        case resource
    }

    /// What is wrong with a list's non-empty entry that is to be `kind`, or nil.
    static func entryProblem(_ text: String, as kind: ListEntry) -> String? {
        if let problem = entryProblem(text) { return problem }
        switch kind {
        case .text:
            return nil
        case .scopeToken:
            return scopeTokenProblem(text)
        case .name(let maximumLength):
            return nameProblem(text, maximumLength: maximumLength)
        case .audience, .resource:
            if text.unicodeScalars.contains(" ") { return "must not contain spaces or control characters" }
            guard case .resource = kind else { return nil }
            // RFC 8707 §2: a resource is an absolute URI without a fragment.
            guard let url = URL(string: text), url.scheme != nil, url.fragment == nil else {
                return "expected an absolute URI without a fragment, such as \"https://api.example.com\""
            }
            return userInfoProblem(text)
        }
    }

    /// Why `text` is no OAuth scope token, or nil: RFC 6749 §3.3 makes a scope one or more of the printable ASCII
    /// characters other than the space, `"` and `\` (NQCHAR). A list of scopes is sent joined by spaces, so one
    /// entry with a space would ask for two scopes.
    static func scopeTokenProblem(_ text: String) -> String? {
        let isNQChar = { (scalar: Unicode.Scalar) in
            scalar.value == 0x21 || (0x23...0x5B).contains(scalar.value) || (0x5D...0x7E).contains(scalar.value)
        }
        guard let bad = text.unicodeScalars.first(where: { !isNQChar($0) }) else { return nil }
        let rule = "an OAuth scope is printable ASCII without spaces, \" or \\ (RFC 6749 §3.3)"
        switch bad {
        case " ":
            return "contains a space, and \(rule); give each scope as an entry of its own"
        case "\"":
            return "contains a double quote, and \(rule)"
        case "\\":
            return "contains a backslash, and \(rule)"
        default:
            return "contains the character U+\(String(format: "%04X", bad.value)), and \(rule)"
        }
    }

    /// What is wrong with a list's non-empty entry, or nil: the rules an import file's lists and a restored
    /// store's list columns share.
    static func entryProblem(_ text: String) -> String? {
        if SafeText.isInvisible(text) { return "has no visible character, only spaces or invisible format characters" }
        if let control = text.unicodeScalars.first(where: SafeText.isUnsafe) {
            return "contains the control or invisible character U+\(String(format: "%04X", control.value)); remove it"
        }
        guard text.utf8.count <= maximumStringBytes else {
            return "is \(text.utf8.count) bytes long, more than the 64 KiB any field may be"
        }
        return nil
    }

    func number(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else { throw fail(key, "expected a number, found \(value.kindName)") }
        return number
    }

    /// An absolute http or https URL with a host.
    func httpURL(_ key: String) throws -> URL? {
        guard let text = try string(key) else { return nil }
        // Only the scheme is quoted back: a URL may carry a password in its user part.
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw fail(key, "expected an absolute http or https URL, such as \"https://auth.example.com/token\"")
        }
        guard scheme == "https" || scheme == "http" else {
            throw fail(key, "expected an http or https URL, found the scheme \"\(scheme)\"")
        }
        // Before the host: `https:user:pw@host` has none for Foundation, but credentials for a browser.
        try refuseUserInfo(text, key)
        guard let host = url.host, !host.isEmpty else { throw fail(key, "expected a URL with a host name") }
        try refuseUnsendable(text, url, key)
        return url
    }

    /// Refuses what would reach another place than the one written, or none: a port outside 1–65535 (Foundation
    /// reads one past its integer as no port at all), a space or a broken `%` escape (sent escaped, to another
    /// path), a backslash (a WHATWG parser reads it as `/`), a fragment (RFC 6749 §3.1, §3.1.2 and §3.2: an endpoint
    /// or redirect URI carries none).
    private func refuseUnsendable(_ text: String, _ url: URL, _ key: String) throws {
        if let port = Self.portText(text), !(Int(port).map { (1...65_535).contains($0) } ?? false) {
            throw fail(key, "has the port \(port.prefix(12)), which no server listens on (ports are 1 to 65535)")
        }
        if text.contains(where: \.isWhitespace) {
            throw fail(key, "contains a space or a line break; write a space in a path as %20")
        }
        if Self.hasBrokenPercentEscape(text) {
            throw fail(key, "has a % not followed by two hexadecimal digits; write a literal % as %25")
        }
        if text.contains("\\") {
            throw fail(key, "has a backslash, which browsers and many HTTP libraries send as /; write it as %5C")
        }
        if url.fragment != nil { throw fail(key, "has a fragment (#…), which an endpoint URL must not have") }
    }

    /// The port as written in `text`'s authority (`//host:PORT`, `//[::1]:PORT`), nil when none is written.
    static func portText(_ text: String) -> Substring? {
        guard let start = text.range(of: "://")?.upperBound else { return nil }
        let authority = text[start...].prefix { !"/?#".contains($0) }
        let afterHost = authority.hasPrefix("[") ? authority.drop { $0 != "]" }.dropFirst() : authority
        guard let colon = afterHost.lastIndex(of: ":") else { return nil }
        let port = afterHost[afterHost.index(after: colon)...]
        return port.isEmpty ? nil : port
    }

    /// Whether some `%` in `text` is not followed by two hexadecimal digits.
    static func hasBrokenPercentEscape(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        return scalars.indices.contains { index in
            scalars[index] == "%"
                && (index + 2 >= scalars.count || !scalars[index + 1].properties.isASCIIHexDigit
                    || !scalars[index + 2].properties.isASCIIHexDigit)
        }
    }

    /// An absolute URI for the redirect back from sign-in: a loopback http URL, or an app's own scheme
    /// (`com.example.app:/oauth2redirect`, RFC 8252 §7.1), without credentials.
    func redirectURI(_ key: String) throws -> String? {
        guard let text = try string(key) else { return nil }
        guard let url = URL(string: text), url.scheme != nil else {
            throw fail(key, "expected an absolute URI, such as \"http://127.0.0.1:8765/callback\"")
        }
        try refuseUserInfo(text, key)
        try refuseUnsendable(text, url, key)
        return text
    }

    /// Refuses a URL that carries credentials (`user:password@` or `user@`): `show` and logs print URLs, and a
    /// client's credentials have their own fields. Neither the user nor the password is quoted back.
    ///
    /// Foundation parses `text` by RFC 3986, which reads `https:user:pw@host/cb` and `https:/user:pw@host` as
    /// paths; a WHATWG parser (a browser, many HTTP libraries) reads the same text as credentials for `host`, so
    /// ``hasUserInfo(_:)`` looks at the text that way too.
    func refuseUserInfo(_ text: String, _ key: String) throws {
        if let problem = Self.userInfoProblem(text) { throw fail(key, problem) }
    }

    /// The problem ``refuseUserInfo(_:_:)`` names, or nil when `text` carries no credentials.
    static func userInfoProblem(_ text: String) -> String? {
        let url = URL(string: text)
        guard url?.user != nil || url?.password != nil || hasUserInfo(text) else { return nil }
        return "carries credentials before the host (\"user:password@\" or \"user@\"), which would be shown and "
            + "logged with the URL; remove them and give the client's credentials as client_id and "
            + "client_secret (sent with HTTP basic auth by \"client_auth\": \"client_secret_basic\")"
    }

    /// The schemes for which the WHATWG URL standard reads an authority after any run of `/` or `\`, even none.
    static let slashLenientSchemes: Set<String> = ["http", "https", "ws", "wss", "ftp"]

    /// Whether `text`'s authority, however its slashes are written, holds a userinfo `@`: for an http(s), ws(s) or
    /// ftp URL, the text after `scheme:` and any run of `/` or `\` up to the next `/`, `\`, `?` or `#`; for any
    /// other scheme, the same after exactly `//`.
    static func hasUserInfo(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let rest = text[text.index(after: colon)...]
        let afterSlashes: Substring
        let ends: Set<Character>
        if slashLenientSchemes.contains(text[..<colon].lowercased()) {
            afterSlashes = rest.drop { $0 == "/" || $0 == "\\" }
            ends = ["/", "\\", "?", "#"]
        } else if rest.hasPrefix("//") {
            afterSlashes = rest.dropFirst(2)
            ends = ["/", "?", "#"]
        } else {
            return false
        }
        return afterSlashes.prefix { !ends.contains($0) }.contains("@")
    }

    /// One of `E`'s raw values; the error lists them all.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E?
    where E.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let value = E(rawValue: text) else {
            let valid = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail(key, "unknown value \(ImportError.echoed(text)); expected one of \(valid)")
        }
        return value
    }

    /// A secret: a string that meets ``Secret/problem(with:lines:)``, the rule a token endpoint's answer is held
    /// to too, except that line breaks may stand inside it (a PEM key). Errors never quote it.
    func secret(_ key: String) throws -> Secret? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw fail(key, "expected a string, found \(value.kindName)") }
        // As any other field: a token of megabytes would be sent to the provider at every refresh.
        guard text.utf8.count <= Self.maximumStringBytes else {
            throw fail(key, "is \(text.utf8.count) bytes long, more than the 64 KiB any field may be")
        }
        switch Secret.problem(with: text, lines: true) {
        case nil: return Secret(text)
        case .empty: throw fail(key, "must not be empty; leave the key out instead")
        case .blank: throw fail(key, "is only spaces or line breaks; give the secret, or leave the key out")
        case .whitespaceAtEdges:
            throw fail(
                key,
                "has spaces or line breaks at its start or end, which a copy and paste often adds; "
                    + "remove them")
        case .unsafeCharacter(let scalar):
            let codePoint = Secret.TextProblem.codePoint(scalar)
            throw fail(key, "contains the control or invisible character \(codePoint); remove it")
        }
    }

    /// An RFC 3339 time, such as `2030-01-31T12:00:00Z` or `2030-01-31T13:00:00.5+01:00`.
    func time(_ key: String) throws -> Date? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw fail(key, Self.notATime) }
        switch Self.checkRFC3339(text) {
        case .success(let date):
            // Before 1970 no token existed; and before 1583 the calendar itself changed under the date.
            guard date.timeIntervalSince1970 >= 0 else {
                throw fail(key, "\(text) is before 1970, which no token or secret is; \(Self.notATime)")
            }
            return date
        case .failure(let problem): throw fail(key, problem.reason)
        }
    }

    private static let notATime = "expected an RFC 3339 time, such as \"2030-01-31T12:00:00Z\""

    /// Why a text is no RFC 3339 time.
    struct TimeProblem: Error {
        var reason: String
    }

    static func parseRFC3339(_ text: String) -> Date? { try? checkRFC3339(text).get() }

    /// The time `text` names, or why it names none: not RFC 3339's form, a day the calendar does not have, or an
    /// offset past ±23:59. A leap second (`23:59:60`) is the moment after `23:59:59`.
    static func checkRFC3339(_ text: String) -> Result<Date, TimeProblem> {
        let bytes = Array(text.utf8)
        func byte(_ index: Int, is character: Unicode.Scalar) -> Bool { bytes[index] == UInt8(ascii: character) }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, bytes[range].allSatisfy({ (0x30...0x39).contains($0) }) else {
                return nil
            }
            return Int(String(decoding: bytes[range], as: UTF8.self))
        }
        guard bytes.count >= 20, byte(4, is: "-"), byte(7, is: "-"), byte(13, is: ":"), byte(16, is: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return .failure(TimeProblem(reason: notATime)) }
        // ISO8601DateFormatter reads 24:00 as the next day's midnight; RFC 3339's hours end at 23.
        guard hour <= 23, minute <= 59 else {
            return .failure(TimeProblem(reason: "\(text.prefix(19)) is not a time of day; \(notATime)"))
        }
        // ISO8601DateFormatter rolls 30 February over into March; a date that does not exist is a typo.
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...lengths[month - 1]).contains(day) else {
            return .failure(TimeProblem(reason: "\(text.prefix(10)) is not a day of the calendar; \(notATime)"))
        }
        // RFC 3339 allows a lower-case t and z; the rest of the text after the seconds is an optional fraction,
        // then Z or an offset ±hh:mm, and nothing more (ISO8601DateFormatter lets a trailing space pass).
        guard byte(10, is: "T") || byte(10, is: "t") else { return .failure(TimeProblem(reason: notATime)) }
        var end = 19
        // Digits of the fraction past milliseconds, which are dropped: ISO8601DateFormatter read a fraction of
        // twelve digits and more as a second earlier (2030-01-01T00:00:00.123456789123Z as 2029-12-31T23:59:59Z).
        var finer = 0..<0
        if end < bytes.count, byte(end, is: ".") {
            end += 1
            let digits = bytes[end...].prefix { (0x30...0x39).contains($0) }.count
            guard digits > 0 else { return .failure(TimeProblem(reason: notATime)) }
            if digits > 3 { finer = (end + 3)..<(end + digits) }
            end += digits
        }
        let zone = Array(bytes[end...])
        if zone.count == 6, zone[0] == UInt8(ascii: "+") || zone[0] == UInt8(ascii: "-"), zone[3] == UInt8(ascii: ":"),
            let hours = number((end + 1)..<(end + 3)), let minutes = number((end + 4)..<(end + 6))
        {
            // ISO8601DateFormatter takes +24:00 and more; RFC 3339's offsets end at ±23:59.
            guard hours <= 23, minutes <= 59 else {
                let offset = String(decoding: zone, as: UTF8.self)
                return .failure(TimeProblem(reason: "its offset \(offset) is past ±23:59; \(notATime)"))
            }
        } else if zone != [UInt8(ascii: "Z")] && zone != [UInt8(ascii: "z")] {
            return .failure(TimeProblem(reason: notATime))
        }
        // A leap second is read as :59 and moved one second on.
        let leapSecond = second == 60 && minute == 59
        var upper = Array(text.uppercased().utf8)
        upper.removeSubrange(finer)
        let readable = String(
            decoding: leapSecond ? upper[..<17] + "59".utf8 + upper[19...] : upper[...], as: UTF8.self)
        let formatter = ISO8601DateFormatter()
        let forms: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds],
        ]
        for options in forms {
            formatter.formatOptions = options
            if let date = formatter.date(from: readable) {
                return .success(date.addingTimeInterval(leapSecond ? 1 : 0))
            }
        }
        return .failure(TimeProblem(reason: notATime))
    }

    /// The allowed key within edit distance 2 of `key`, if exactly one is that close.
    static func closest(to key: String, in allowed: [String]) -> String? {
        let scored = allowed.map { ($0, distance(Array(key.lowercased()), Array($0))) }
        let near = scored.filter { $0.1 <= 2 }.sorted { $0.1 < $1.1 }
        return near.first?.0
    }

    private static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1]
            for (j, right) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
