/// A count and its noun, singular for one: `1 integration`, `2 integrations`, `1 history entry`.
public func counted(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}
